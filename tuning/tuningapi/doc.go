// Package tuningapi serves a tuning.Backend over the control plane's HTTP
// conventions (package controlplane) and is the client of that API, itself
// a tuning.Backend:
//
//	POST   /studies                           create a study (a tuning.Spec) → 201 Study
//	GET    /studies                           {"studies": [...]}; ?watch=1 streams events
//	GET    /studies/{name}                    the study and its trials
//	GET    /studies/{name}/watch              the study, then every change (JSON lines or SSE)
//	POST   /studies/{name}/stop               kill its running trials and stop it
//	POST   /studies/{name}/resume             go on with a stopped study
//	DELETE /studies/{name}                    stop it and remove its record
//	POST   /studies/{name}/ask                the next trial for the caller to run: {"ok", "trial"}
//	POST   /studies/{name}/trials/{trial}/report   a tuning.Report → tuning.Decision
//
// Errors are JSON bodies with a ferry code, mapped to 400, 404, 409, 501 or
// 503 and back by the client. The handler does no authentication of its
// own: the control plane mounts it behind notebookd's.
package tuningapi
