// Package tracking is the client side of Ferry's experiment tracking
// (experiments, runs, params, metrics, artifacts): what notebook cells, the
// %runs magics and `ferry runs` use. It has five concerns:
//
//   - Open: the tracking store at a URL (below), created and migrated as
//     needed.
//   - Session, Connect and Default: the process's connection, chosen by the
//     environment (package controlplane): the control plane of `ferry lab`
//     through the storage/trackingapi client, else $FERRY_TRACKING_URL,
//     else the embedded store of the data directory; with a current
//     experiment.
//   - Run, StartRun and SetExperiment: the live run of a cell, which logs
//     params, metrics, tags and artifacts and ends FINISHED or FAILED.
//   - Artifacts: OpenStore opens a run's object store (file://, s3://);
//     Session.PutArtifact and Session.Artifacts go through the control
//     plane when the session is remote.
//   - Presentation: RunsTable, Session.Search, FindRuns, Describe and
//     Compare (a table and a Vega-Lite chart of metric histories), which the
//     magics show and the CLI prints.
//
// Tracking store URLs:
//
//	sqlite:///abs/path/ferry.db      SQLite file (the embedded default)
//	sqlite://rel/path/ferry.db       SQLite file relative to the working directory
//	postgres://user:pw@host:5432/db?sslmode=disable   PostgreSQL (postgresql:// too)
//
// Both keep the same schema (storage/sqldb) and pass the same contract
// suite (storage/trackingtest).
package tracking
