package node

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A local-path volume's size is enforced by making its folder a
// filesystem of that size: an ext4 image file beside the folder
// (<folder>.img, sparse), loop-mounted on it. Where that cannot be done
// (no loop devices, no mkfs.ext4, not root), the volume is a plain
// folder and its size is not enforced; the agent reports which.

// sizedImage is the image file of a volume folder.
func sizedImage(dir string) string { return dir + ".img" }

// mountSized makes dir a loop-mounted ext4 filesystem of size bytes (or
// finds it mounted already). It returns why the size is not enforced,
// "" when it is; dir exists either way.
func mountSized(dir string, size int64) (why string, err error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	if mounted, err := isMountPoint(dir); err != nil {
		return "", err
	} else if mounted {
		return "", nil
	}
	img := sizedImage(dir)
	fresh := false
	if _, err := os.Stat(img); errors.Is(err, os.ErrNotExist) {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			return "the folder holds data from before its size was enforced", nil
		}
		if why := makeImage(img, size); why != "" {
			return why, nil
		}
		fresh = true
	}
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		if fresh {
			os.Remove(img)
		}
		return fmt.Sprintf("cannot loop-mount a filesystem: %s", firstLine(out, err)), nil
	}
	return "", os.Chmod(dir, 0o777)
}

// makeImage writes a sparse ext4 image of size bytes, or says why it
// cannot.
func makeImage(img string, size int64) string {
	if size < 1<<20 {
		size = 1 << 20 // the smallest ext4 mkfs makes without complaint
	}
	f, err := os.OpenFile(img, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Sprintf("cannot create the image: %v", err)
	}
	err = f.Truncate(size)
	f.Close()
	if err == nil {
		// -m 0: no blocks reserved for root; the claim gets them all.
		var out []byte
		if out, err = exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", img).CombinedOutput(); err != nil {
			err = errors.New(firstLine(out, err))
		}
	}
	if err != nil {
		os.Remove(img)
		return fmt.Sprintf("cannot make a filesystem: %v", err)
	}
	return ""
}

// unmountSized unmounts a volume folder's filesystem, if any, and
// removes its image.
func unmountSized(dir string) error {
	if mounted, err := isMountPoint(dir); err == nil && mounted {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting %s: %w", dir, err)
		}
	}
	if err := os.Remove(sizedImage(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// isMountPoint reports whether dir is mounted on (its device differs
// from its parent's).
func isMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

func firstLine(out []byte, err error) string {
	if s, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); s != "" {
		return s
	}
	return err.Error()
}
