// Package trackingapi is the tracking service of Ferry's control-plane API
// (package controlplane), served by `ferry lab` under /api/ferry/v1/ with
// the server's token auth, and a Go client of it that implements
// storage.Tracker, so that kernels, magics and the CLI use a remote
// tracking store exactly like a local one. Handler.Service is what the
// server registers: the service owns the paths under experiments, runs and
// metrics.
//
// Routes (JSON bodies with snake_case names; times are RFC 3339, metric
// timestamps milliseconds since the Unix epoch):
//
//	GET    experiments[?view=active|deleted|all]
//	POST   experiments                      {name, artifact_location, tags}
//	GET    experiments/{id}
//	GET    experiments/by-name/{name}
//	DELETE experiments/{id}
//	POST   experiments/{id}/restore
//	POST   experiments/{id}/tags            {key, value}
//	POST   runs                             {experiment_id, name, parent_run_id, source_notebook, tags, start_time, status}
//	GET    runs/{id}
//	PATCH  runs/{id}                        {status, end_time, name}
//	DELETE runs/{id}
//	POST   runs/{id}/restore
//	POST   runs/{id}/log                    {metrics, params, tags}: one transaction
//	POST   runs/{id}/inputs                 {inputs}
//	POST   runs/search                      {experiment_ids, filter, order_by, max_results, page_token, view}
//	POST   metrics/history                  {run_ids, keys, max_points}
//	PUT    runs/{id}/artifacts/{path}       the body is the content
//	GET    runs/{id}/artifacts/{path}       the content
//	GET    runs/{id}/artifacts[?prefix=P]   the list of artifacts
//
// Errors are {"message", "reason", "code"} with the HTTP status of the
// storage error code: NotFound 404, AlreadyExists 409, Invalid 400,
// Unavailable 503, NotSupported 501, others 500.
package trackingapi
