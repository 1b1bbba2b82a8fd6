package trackingapi

import (
	"github.com/ferryml/ferry"

	"mime"
	"net/url"
	"path"
	"strings"
)

// artifactRooter is a Tracker that knows where experiments keep their
// artifacts by default (sqldb.Tracker).
type artifactRooter interface{ ArtifactRoot() string }

// AllowArtifactRoots adds roots (file:// or s3:// URLs) to the artifact
// roots of h: the URLs under which experiments created through the API may
// keep their artifacts, and from which run artifacts are read and written.
// The tracker's own artifact root (that of experiments created without an
// artifact location) is always one. It returns h.
func (h *Handler) AllowArtifactRoots(roots ...string) *Handler {
	for _, r := range roots {
		if r = strings.TrimRight(r, "/"); r != "" {
			h.roots = append(h.roots, r)
		}
	}
	return h
}

// ArtifactRoots returns the artifact roots of h.
func (h *Handler) ArtifactRoots() []string { return append([]string(nil), h.roots...) }

// underRoot reports whether the URL loc lies in the directory (or bucket
// prefix) of the URL root: same scheme and host, and a path equal to
// root's or below it. A loc with "." or ".." segments, a query, a fragment
// or user info is under no root.
func underRoot(loc, root string) bool {
	l, err := url.Parse(loc)
	if err != nil || l.Opaque != "" || l.User != nil || l.RawQuery != "" || l.ForceQuery || l.Fragment != "" {
		return false
	}
	r, err := url.Parse(root)
	if err != nil || !strings.EqualFold(l.Scheme, r.Scheme) || l.Scheme == "" || l.Host != r.Host {
		return false
	}
	for seg := range strings.SplitSeq(l.Path, "/") {
		if seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
			return false
		}
	}
	lp, rp := strings.TrimRight(l.Path, "/"), strings.TrimRight(r.Path, "/")
	return lp == rp || strings.HasPrefix(lp, rp+"/")
}

// checkArtifactLocation refuses an artifact location outside the roots
// ("" is the tracker's default, always allowed).
func (h *Handler) checkArtifactLocation(loc string) error {
	if loc == "" || h.allowed(loc) {
		return nil
	}
	if len(h.roots) == 0 {
		return ferry.Errorf(ferry.Invalid, "artifact_location %q: this server accepts no artifact location: leave it empty so that the experiment keeps its artifacts where the server does", loc)
	}
	return ferry.Errorf(ferry.Invalid, "artifact_location %q is outside the artifact roots of this server (%s): leave it empty to use <root>/<experiment id>, or give a location under a root (the root is ferry lab's --artifacts-url)", loc, strings.Join(h.roots, ", "))
}

func (h *Handler) allowed(loc string) bool {
	for _, r := range h.roots {
		if underRoot(loc, r) {
			return true
		}
	}
	return false
}

// inlineTypes are the media types an artifact download may be shown
// inline as: types a browser does not run code in. Every other one
// (text/html, image/svg+xml, application/pdf, ...) is sent as an
// attachment.
var inlineTypes = map[string]bool{
	"text/plain":       true,
	"text/csv":         true,
	"application/json": true,
	"image/png":        true,
	"image/jpeg":       true,
	"image/gif":        true,
	"image/webp":       true,
	"image/avif":       true,
	"image/bmp":        true,
}

// downloadHeaders returns the Content-Type and Content-Disposition of an
// artifact at key with the stored content type ct.
func downloadHeaders(key, ct string) (contentType, disposition string) {
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		ct, mt = "application/octet-stream", "application/octet-stream"
	}
	d := "attachment"
	if inlineTypes[strings.ToLower(mt)] {
		d = "inline"
	}
	if f := mime.FormatMediaType(d, map[string]string{"filename": path.Base(key)}); f != "" {
		d = f
	}
	return ct, d
}
