// Package jobsapi is the jobs service of Ferry's control-plane API
// (package controlplane), served by `ferry lab` under /api/ferry/v1/ with
// the server's token auth, and a Go client of it that implements
// jobs.Backend, so that kernels, magics and the CLI submit and watch jobs on
// the server's backend exactly as on a local one. The server owns the
// backend: jobs outlive the kernels that submitted them. Handler.Service is
// what the server registers: the service owns the paths under jobs.
//
// Routes (relative to the API prefix):
//
//	POST   jobs                        a jobs.Spec; 201 and the jobs.Job
//	GET    jobs[?kind=K][&status=S][&label=K=V]...[&limit=N]
//	                                   {"jobs": [...], "backend": NAME}, oldest first
//	                                   (limit: the newest N)
//	GET    jobs?watch=1[&kind=K]...    a watch of every job (see below)
//	GET    jobs/{name}                 the jobs.Job
//	DELETE jobs/{name}                 cancel if running, remove record and logs; 204
//	POST   jobs/{name}/cancel          stop every replica; 200 and the jobs.Job
//	GET    jobs/{name}/logs[?replica=Worker-1][&follow=1][&tail=N]
//	                                   the replica's output as text/plain, streamed
//	                                   (with follow, until the replica ends)
//	GET    jobs/{name}/watch           a watch of one job
//
// A Spec and a Job are encoded as the jobs package encodes them (the
// camelCase field names of the Kubeflow custom resources, e.g. runPolicy,
// replicaStatuses, lastTransitionTime), so a spec file written for
// `ferry jobs submit -f` reads like a Kubeflow job; the API's own envelopes
// use snake_case like the tracking API.
//
// A watch answers with one JSON event per line (application/x-ndjson),
// {"type": "ADDED"|"MODIFIED"|"DELETED", "job": {...}}: an ADDED event per
// existing job, then every change, until the client goes away. A client
// that asks for text/event-stream (a browser's EventSource) gets the same
// events as server-sent events, "event: MODIFIED" and "data: {json}".
//
// Errors are {"message", "reason", "code"} with the HTTP status of the
// storage error code, as in the tracking API: an invalid spec is 400 with
// Validate's message, naming each bad field and its fix; an unknown job
// 404; a taken name 409; a backend that cannot run the job now 503.
package jobsapi
