// Package controlplane is the home of Ferry's control plane, the HTTP API
// that `ferry lab` serves under /api/ferry/v1/ and that kernels, magics and
// the CLI use instead of opening stores and backends of their own. It holds
// what every domain (tracking, jobs, and the domains to come) shares, so
// that a new domain adds its routes, client and session without new glue:
//
//   - the environment that tells a process where the control plane is
//     (EnvAPIURL, EnvToken) and where its local state lives when there is
//     none (EnvDataDir, EnvTrackingURL, EnvArtifactsURL, ...); FromEnv reads
//     the Endpoint, and Endpoint.Environ is what the server gives the
//     kernels and terminals it starts;
//   - the Registry of services: each domain's API package describes itself
//     as a Service (a name, the first path segments it owns and its
//     http.Handler), and the Registry is the one handler the server mounts
//     under APIPath, routing each request to the service that owns it;
//   - the HTTP conventions of every service: routes that return errors
//     (NewMux), errors as JSON {message, reason, code} with the HTTP status
//     of their error code (ferry.Code) and back (WriteError, StatusOf, CodeOf), JSON
//     bodies (ReadJSON, WriteJSON);
//   - Client, the authenticated base of every domain's Go client: it sends
//     the token and turns error answers back into *ferry.Error values;
//   - Lazy, the process-wide session of a domain (its Default), connected
//     on first use from the environment and replaceable in tests.
//
// A domain's API package (storage/trackingapi, jobs/jobsapi) imports this
// one; this package imports no domain. The server's authentication stays
// in notebookd, which strips APIPath before it calls the Registry.
package controlplane
