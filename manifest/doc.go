// Package manifest decodes, defaults and validates Kubernetes manifests into
// typed objects. It is pure: it reads files handed to it or an fs.FS, and
// every error names the file, the document's index in it and the field.
package manifest
