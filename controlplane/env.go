package controlplane

import (
	"os"
	"path/filepath"
)

// Environment variables that tell a Ferry process (a kernel, a terminal's
// shell, the CLI) where the control plane is and, without one, where its
// local state lives. `ferry lab` sets EnvAPIURL and EnvToken for the
// kernels and terminals it starts; without them a process opens the
// embedded stores of its data directory.
const (
	EnvAPIURL       = "FERRY_API_URL"       // the control plane, e.g. http://127.0.0.1:8888/api/ferry/v1/
	EnvToken        = "FERRY_TOKEN"         // its token (and the default token of `ferry lab`)
	EnvDataDir      = "FERRY_DATA_DIR"      // Ferry's data directory
	EnvTrackingURL  = "FERRY_TRACKING_URL"  // a tracking store URL (sqlite:///..., postgres://...)
	EnvArtifactsURL = "FERRY_ARTIFACTS_URL" // where runs keep artifacts (file:///dir, s3://bucket/prefix)
	EnvNotebook     = "JPY_SESSION_NAME"    // the notebook path of a kernel (set by Jupyter servers)
)

// APIPath is where the server mounts the Registry, below its base URL.
const APIPath = "api/ferry/v1/"

// Endpoint is where a process reaches the control plane.
type Endpoint struct {
	// URL is the API's base URL, e.g. http://127.0.0.1:8888/api/ferry/v1/.
	URL string
	// Token authenticates on it.
	Token string
}

// FromEnv returns the endpoint $FERRY_API_URL and $FERRY_TOKEN name; ok is
// false when $FERRY_API_URL is unset or empty.
func FromEnv() (e Endpoint, ok bool) {
	u := os.Getenv(EnvAPIURL)
	if u == "" {
		return Endpoint{}, false
	}
	return Endpoint{URL: u, Token: os.Getenv(EnvToken)}, true
}

// Environ returns the environment entries (KEY=VALUE) that point a child
// process at e.
func (e Endpoint) Environ() []string {
	return []string{EnvAPIURL + "=" + e.URL, EnvToken + "=" + e.Token}
}

// DataDir returns Ferry's data directory: $FERRY_DATA_DIR, else
// $XDG_DATA_HOME/ferry, else ~/.local/share/ferry.
func DataDir() string {
	if d := os.Getenv(EnvDataDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ferry")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ferry")
	}
	return filepath.Join(home, ".local", "share", "ferry")
}
