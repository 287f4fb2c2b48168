package node

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestMountSizedEnforcesTheSize makes a volume folder an 8 MiB
// filesystem: writing 16 MiB into it fails with ENOSPC, mounting again
// finds it mounted, and unmounting removes the image.
func TestMountSizedEnforcesTheSize(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loop mounts need root")
	}
	dir := filepath.Join(t.TempDir(), "volumes", "pvc-1")
	t.Cleanup(func() { unmountSized(dir) }) // before TempDir's removal
	why, err := mountSized(dir, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	if why != "" {
		t.Skipf("this machine cannot enforce sizes: %s", why)
	}
	if mounted, err := isMountPoint(dir); err != nil || !mounted {
		t.Fatalf("not a mount point: %v %v", mounted, err)
	}
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	var werr error
	for i := 0; i < 16 && werr == nil; i++ {
		_, werr = f.Write(chunk)
	}
	if werr == nil {
		werr = f.Sync()
	}
	f.Close()
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("writing 16 MiB into an 8 MiB volume: %v, want ENOSPC", werr)
	}
	if why, err := mountSized(dir, 8<<20); err != nil || why != "" {
		t.Fatalf("mounting again: %q %v", why, err)
	}
	if err := unmountSized(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sizedImage(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the image is still there: %v", err)
	}
}

// TestMountSizedKeepsAFolderWithData leaves a folder that already holds
// data as it is, and says so.
func TestMountSizedKeepsAFolderWithData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pvc-2")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "old"), []byte("x"), 0o644)
	why, err := mountSized(dir, 8<<20)
	if err != nil || why == "" {
		t.Fatalf("a folder with data: %q %v; want a reason", why, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "old")); err != nil {
		t.Fatal(err)
	}
}

// TestOwnFolder refuses paths outside the agent's volumes and claims
// folders.
func TestOwnFolder(t *testing.T) {
	for p, ok := range map[string]bool{
		"/d/volumes/pvc-1": true, "/d/claims/ns/c": true, "/d/volumes": false, "/d/volumes/../x": false,
		"/etc": false, "/d/volumesx/a": false,
	} {
		if _, err := ownFolder("/d", p); (err == nil) != ok {
			t.Errorf("ownFolder(%q): %v", p, err)
		}
	}
}
