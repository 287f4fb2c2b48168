package manifest

import (
	"reflect"
	"strings"
	"testing"
)

// TestDecoderReusesUnchangedFiles decodes a commit, then the next one with
// one file changed and the other given by hash only: the result is what a
// fresh decode gives, checks between objects still see the reused file,
// and changing the returned set does not reach the next decode.
func TestDecoderReusesUnchangedFiles(t *testing.T) {
	web := File{Name: "web.yaml", Data: []byte(deployment), Hash: "h-web"}
	svc := File{Name: "svc.yaml", Data: []byte(service("  type: NodePort\n  ports:\n  - port: 80\n")), Hash: "h-svc-1"}
	d := NewDecoder(DefaultLimits())
	first, errs := d.Decode([]File{web, svc})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	first.Services[0].Spec.Ports[0].NodePort = 31000 // the leader assigns; the cache must not see it
	first.Deployments[0].Spec.Template.Spec.Containers[0].Image = "changed"

	if !d.Known("web.yaml", "h-web") || d.Known("web.yaml", "other") {
		t.Fatal("Known does not answer by name and hash")
	}
	svc2 := File{Name: "svc.yaml", Data: []byte(service("  ports:\n  - port: 8080\n")), Hash: "h-svc-2"}
	second, errs := d.Decode([]File{{Name: "web.yaml", Hash: "h-web", Size: int64(len(deployment))}, svc2})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	fresh, _ := Decode([]File{{Name: "web.yaml", Data: []byte(deployment)}, {Name: "svc.yaml", Data: svc2.Data}})
	if !reflect.DeepEqual(second, fresh) {
		t.Errorf("reused decode differs from a fresh one:\n%+v\n%+v", second, fresh)
	}

	// A new file that clashes with the reused one is caught.
	dup := File{Name: "dup.yaml", Data: []byte(deployment), Hash: "h-dup"}
	_, errs = d.Decode([]File{{Name: "web.yaml", Hash: "h-web", Size: int64(len(deployment))}, svc2, dup})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "defined twice") {
		t.Errorf("errors %v; want the duplicate", errs)
	}
	// A file the decoder forgot (not in the last commit) must come with
	// its contents.
	_, errs = d.Decode([]File{{Name: "gone.yaml", Hash: "h-gone", Size: 10}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "gone.yaml: contents not read") {
		t.Errorf("errors %v", errs)
	}
}
