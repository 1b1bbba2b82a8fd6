// Package file implements storage.ObjectStore on a local directory, the
// embedded default under Ferry's data directory. A store is addressed as
// file:///abs/dir; key "a/b" is the file dir/a/b, so the content stays
// readable by other tools.
//
// Writes are atomic: Put streams into a temporary file under
// dir/.ferry/tmp, fsyncs it, renames it over the key's file and fsyncs the
// directory, so a reader or a crash sees the old object or the new one,
// never a part. A failed Put removes its temporary file.
//
// The SHA-256, content type and user metadata of each object are kept in a
// JSON sidecar, dir/.ferry/meta/XX/<sha256 of the key>.json, written in the
// same way. The sidecar records the size, modification time and inode of
// the file it describes; if the file was changed behind the store's back
// (or a crash fell between the two renames) the sidecar no longer matches,
// and Stat reports the SHA-256 as unknown ("") instead of a wrong one. Keys
// whose first segment is ".ferry" are reserved. As on a POSIX-backed S3
// server, a key cannot name both an object and a "directory" of other keys
// ("a" and "a/b"): such a Put is ferry.Invalid. Presigned URLs are not
// supported (ferry.NotSupported).
package file
