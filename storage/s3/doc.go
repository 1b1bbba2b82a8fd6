// Package s3 implements storage.ObjectStore on an S3-compatible server
// (AWS S3, MinIO, versitygw, ...) with github.com/minio/minio-go/v7.
//
// A store is addressed as s3://bucket/prefix and rooted at that prefix:
// key "a/b" is the S3 object "prefix/a/b". The endpoint, region and
// credentials come from Options, else from the URL's query parameters
// (?endpoint=http://127.0.0.1:9000&region=eu-west-1), else from the
// environment: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION or
// AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, else the shared credentials file (~/.aws/credentials,
// AWS_PROFILE). A custom endpoint (MinIO, versitygw) is addressed
// path-style; AWS virtual-host style.
//
// Puts stream. An object of up to PartSize bytes (16 MiB by default) is
// sent in one PUT signed with the SHA-256 of its content, which the server
// checks, and that SHA-256 is stored as the user metadata
// x-amz-meta-sha256. A larger object is sent as a multipart upload:
// parts are read in order and hashed as they are read, up to Concurrency
// of them (4) upload at once, each with a CRC32C the server checks (the
// payload is not signed as well: that would hash it a second time), so a
// Put holds at most Concurrency × PartSize bytes (64 MiB) whatever the
// object's size. When the upload completes the SHA-256 is recorded by a
// metadata-only copy of the object onto itself, conditional on its ETag,
// so a concurrent Put of the same key never gets the wrong hash (in a
// bucket with versioning enabled that copy is a second version). Until the
// upload completes nothing is visible under the key; a failed upload is
// aborted, also when the caller's context has ended (if the server is
// unreachable it cannot be: the server's lifecycle rule for incomplete
// multipart uploads must clean it up). An unknown-size Put is limited to
// 10,000 parts (156 GiB at the default PartSize): give the size, or raise
// PartSize, for larger objects.
//
// A Get returns the response body as it comes; if the connection breaks,
// the reader asks for the rest, up to 3 times, on condition that the
// object (its ETag) has not changed.
//
// Errors name the problem and the setting to fix: an unreachable endpoint
// is ferry.Unavailable and names where the endpoint came from (for
// example AWS_ENDPOINT_URL); rejected credentials are ferry.Invalid and
// name AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; a missing bucket is
// ferry.NotFound. Requests are retried at most MaxRetries times, so an
// unreachable server fails within seconds.
package s3
