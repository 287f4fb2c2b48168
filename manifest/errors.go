package manifest

import (
	"fmt"
	"strings"
)

// Error is one problem with a manifest, located as precisely as berth can:
// the file, the line, the object and the field.
type Error struct {
	File     string
	Line     int    // 1-based line in the file; 0 when unknown
	Document int    // index of the document in the file, from 0
	Object   string // "Kind/namespace/name", when known
	Field    string // field path, when the problem is one field
	Message  string
}

// Error renders as "FILE:LINE: Kind/namespace/name: field.path: message
// (document N)", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	for _, part := range []string{e.Object, e.Field, e.Message} {
		if part != "" {
			b.WriteString(": ")
			b.WriteString(part)
		}
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (document %d)", e.Document)
	}
	return oneLine.Replace(b.String())
}

// oneLine escapes line breaks that user input (a key, a field name) may
// carry, so that every error stays on one line.
var oneLine = strings.NewReplacer("\n", `\n`, "\r", `\r`)

// fieldError is a problem with one field of an object, before it is
// located in its file.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }
