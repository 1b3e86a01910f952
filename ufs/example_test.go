package ufs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/alluvium/alluvium/ufs"
)

// A file:// UFS lists its files in pages, reads ranges, and refuses paths
// that leave its root.
func Example() {
	dir, _ := os.MkdirTemp("", "ufs-example")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "logs", "a.txt"), []byte("hello, alluvium"), 0o644)
	os.WriteFile(filepath.Join(dir, "logs", "b.txt"), []byte("bye"), 0o644)
	os.WriteFile(filepath.Join(dir, "readme"), []byte("r"), 0o644)

	ctx := context.Background()
	fs, err := ufs.Open("file://"+filepath.ToSlash(dir), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fs.Close()

	// Page through the listing, two files at a time.
	cursor := ""
	for {
		files, next, err := fs.List(ctx, "", cursor, 2)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, f := range files {
			fmt.Println(f.Path, f.Size)
		}
		if next == "" {
			break
		}
		cursor = next
	}

	// Read 8 bytes from offset 7.
	r, _ := fs.Open(ctx, "logs/a.txt", 7, 8)
	b, _ := io.ReadAll(r)
	r.Close()
	fmt.Printf("%q\n", b)

	// Escapes are refused before anything is touched.
	_, err = fs.Stat(ctx, "../../etc/passwd")
	fmt.Println(errors.Is(err, ufs.ErrEscape))
	// Output:
	// logs/a.txt 15
	// logs/b.txt 3
	// readme 1
	// "alluvium"
	// true
}
