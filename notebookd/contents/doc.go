// Package contents is Ferry's contents manager: the files under a root
// directory, served through the Jupyter Server contents REST API
// (https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html,
// GET/PUT/POST/PATCH/DELETE /api/contents/<path> and its checkpoints) with
// the behaviour of jupyter_server's FileContentsManager and FileCheckpoints.
//
// Notebooks are nbformat 4 documents
// (https://nbformat.readthedocs.io/en/latest/format_description.html): they
// are validated before they are written and written as nbformat writes them
// (sorted keys, one-space indent, multi-line strings split into lists of
// lines, a trailing newline).
//
// API paths are '/'-separated and relative to the root ("" is the root). No
// path leaves the root: ".." segments, NUL bytes and symbolic links that
// resolve outside the root are refused (403), and every file system call,
// checkpoints included, goes through an [os.Root] of the root, which
// refuses a link out of it even when it appears after the check. Names
// starting with '.' are hidden: not listed and not accessible unless
// Options.AllowHidden is set. Names that are not UTF-8, or longer than 255
// bytes, are neither listed nor served (400).
//
// Every write is atomic: the new bytes go to a temporary file
// (".~<name>.<hex>.tmp") in the same directory, which is synced and renamed
// over the target, keeping the target's file mode. A save that fails or is
// refused leaves the file as it was. Temporary files left by an interrupted
// save are removed when their directory is listed, once ten minutes old and
// not being written. Notebooks are written as they are encoded, without a
// copy in memory, and may nest 100 levels deep.
package contents
