// Package open opens an object store by URL, so that callers need not
// import each backend:
//
//	file:///abs/dir         storage/file (also a plain absolute path)
//	s3://bucket/prefix      storage/s3 (endpoint, region and credentials from
//	                        Options.S3, the URL's query or AWS_* variables)
package open
