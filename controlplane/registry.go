package controlplane

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/ferryml/ferry"
)

// Service is one domain's part of the control-plane API.
type Service struct {
	// Name names the API in messages, e.g. "jobs API".
	Name string
	// Prefixes are the first path segments the service owns: "jobs" owns
	// /jobs and everything under /jobs/.
	Prefixes []string
	// Handler serves the service's routes, with APIPath stripped (paths
	// start with "/"). It does no authentication of its own.
	Handler http.Handler
}

// Registry is the control-plane API: the services of every domain, each
// serving the paths whose first segment it owns. It is the handler the
// server mounts under APIPath (behind its authentication); requests reach
// it with APIPath stripped. Register every service before serving.
type Registry struct {
	log      *slog.Logger
	services []Service
	owner    map[string]http.Handler
}

// NewRegistry returns a Registry with services that logs to log (nil:
// slog.Default()).
func NewRegistry(log *slog.Logger, services ...Service) *Registry {
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{log: log, owner: map[string]http.Handler{}}
	for _, s := range services {
		r.Register(s)
	}
	return r
}

// Register adds s. Like http.ServeMux.Handle, it panics on a service
// without a handler or prefixes, and on a prefix that another service
// owns: both are mistakes of the program that wires the services.
func (r *Registry) Register(s Service) {
	if s.Handler == nil || len(s.Prefixes) == 0 {
		panic(fmt.Sprintf("controlplane: service %q needs a handler and at least one prefix", s.Name))
	}
	for _, p := range s.Prefixes {
		if p == "" || strings.Contains(p, "/") {
			panic(fmt.Sprintf("controlplane: service %q: prefix %q is not one path segment", s.Name, p))
		}
		if _, taken := r.owner[p]; taken {
			panic(fmt.Sprintf("controlplane: service %q: prefix %q is owned by another service", s.Name, p))
		}
		r.owner[p] = s.Handler
	}
	r.services = append(r.services, s)
}

// Services returns the registered services, in the order of registration.
func (r *Registry) Services() []Service { return slices.Clone(r.services) }

// Handler returns the handler of the service that owns path (APIPath
// stripped: "/jobs/a"), or nil.
func (r *Registry) Handler(path string) http.Handler {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return r.owner[first]
}

func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if h := r.Handler(req.URL.Path); h != nil {
		h.ServeHTTP(w, req)
		return
	}
	var owned []string
	for _, s := range r.services {
		owned = append(owned, s.Prefixes...)
	}
	err := ferry.Errorf(ferry.NotFound, "no control-plane route %s %s: the API's paths start with %s",
		req.Method, req.URL.Path, strings.Join(owned, ", "))
	writeError(w, req, r.log, "control plane", err)
}
