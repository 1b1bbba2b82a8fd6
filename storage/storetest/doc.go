// Package storetest is the contract test suite of storage.ObjectStore: every
// backend runs it (storage/file on a temporary directory, storage/s3 on a
// real S3 server), so they behave alike.
package storetest
