package fusefs

import (
	"context"
	"sync"
	"syscall"

	"github.com/alluvium/alluvium/apath"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirNode is a directory: the root, an ancestor of mount points, a mount
// point or a directory inside one.
type dirNode struct {
	fs.Inode
	f    *fsys
	path string
}

// fileNode is a file of a mounted UFS.
type fileNode struct {
	fs.Inode
	f    *fsys
	path string

	mu     sync.Mutex
	opened version // of the last open: the kernel's pages are of this version
	seen   bool
}

var (
	_ fs.InodeEmbedder  = (*dirNode)(nil)
	_ fs.NodeLookuper   = (*dirNode)(nil)
	_ fs.NodeReaddirer  = (*dirNode)(nil)
	_ fs.NodeGetattrer  = (*dirNode)(nil)
	_ fs.NodeStatfser   = (*dirNode)(nil)
	_ fs.NodeMkdirer    = (*dirNode)(nil)
	_ fs.NodeMknoder    = (*dirNode)(nil)
	_ fs.NodeCreater    = (*dirNode)(nil)
	_ fs.NodeUnlinker   = (*dirNode)(nil)
	_ fs.NodeRmdirer    = (*dirNode)(nil)
	_ fs.NodeRenamer    = (*dirNode)(nil)
	_ fs.NodeSymlinker  = (*dirNode)(nil)
	_ fs.NodeLinker     = (*dirNode)(nil)
	_ fs.NodeSetattrer  = (*dirNode)(nil)
	_ fs.InodeEmbedder  = (*fileNode)(nil)
	_ fs.NodeGetattrer  = (*fileNode)(nil)
	_ fs.NodeOpener     = (*fileNode)(nil)
	_ fs.NodeSetattrer  = (*fileNode)(nil)
	_ fs.NodeSetxattrer = (*fileNode)(nil)
)

// Lookup finds name in the directory.
func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	p := apath.Join(d.path, name)
	e, err := d.f.stat(ctx, p)
	if err != nil {
		return nil, errno(err)
	}
	if e.missing {
		return nil, syscall.ENOENT
	}
	d.f.fillAttr(&out.Attr, p, e)
	return d.f.newChild(ctx, &d.Inode, p, e), 0
}

// Readdir streams the directory's names: from the mount table above the
// mount points, from the workers' listing inside them.
func (d *dirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	mounts, err := d.f.mountPoints(ctx)
	if err != nil {
		return nil, errno(err)
	}
	mount := mountOf(d.path, mounts)
	if mount == "" {
		names := virtualChildren(d.path, mounts)
		list := make([]fuse.DirEntry, 0, len(names))
		for _, n := range names {
			list = append(list, fuse.DirEntry{Name: n, Mode: syscall.S_IFDIR, Ino: ino(apath.Join(d.path, n), true)})
		}
		return fs.NewListDirStream(list), 0
	}
	return newDirStream(d.f, mount, d.path), 0
}

// Getattr describes the directory.
func (d *dirNode) Getattr(_ context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.f.fillAttr(&out.Attr, d.path, entry{dir: true})
	return 0
}

// Statfs answers statfs(2) (df): nothing is free on a read-only mount.
func (d *dirNode) Statfs(_ context.Context, out *fuse.StatfsOut) syscall.Errno {
	out.Bsize, out.Frsize, out.NameLen = blockSize, blockSize, 255
	return 0
}

// Getattr describes the file: its UFS size and mtime.
func (n *fileNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, err := n.f.stat(ctx, n.path)
	if err != nil {
		return errno(err)
	}
	if e.missing || e.dir {
		return syscall.ENOENT // gone, or replaced: the kernel looks the name up again
	}
	n.f.fillAttr(&out.Attr, n.path, e)
	return 0
}

// writeFlags are the open flags of a writer.
const writeFlags = syscall.O_WRONLY | syscall.O_RDWR | syscall.O_TRUNC | syscall.O_APPEND | syscall.O_CREAT

// Open opens the file for reading. The kernel keeps the pages it cached of
// the file when its size and mtime are those of the last open.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&writeFlags != 0 {
		return nil, 0, syscall.EROFS
	}
	e, err := n.f.stat(ctx, n.path)
	if err != nil {
		return nil, 0, errno(err)
	}
	if e.missing || e.dir {
		return nil, 0, syscall.ENOENT
	}
	var fuseFlags uint32
	n.mu.Lock()
	if !n.seen || n.opened == e.version() {
		fuseFlags |= fuse.FOPEN_KEEP_CACHE
	}
	n.opened, n.seen = e.version(), true
	n.mu.Unlock()
	return newHandle(n.f, n.path, e.size), fuseFlags, 0
}

// The writes: the mount is read-only.

func (d *dirNode) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *dirNode) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *dirNode) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}

func (d *dirNode) Unlink(context.Context, string) syscall.Errno { return syscall.EROFS }
func (d *dirNode) Rmdir(context.Context, string) syscall.Errno  { return syscall.EROFS }

func (d *dirNode) Rename(context.Context, string, fs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EROFS
}

func (d *dirNode) Symlink(context.Context, string, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *dirNode) Link(context.Context, fs.InodeEmbedder, string, *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

func (d *dirNode) Setattr(context.Context, fs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

func (n *fileNode) Setattr(context.Context, fs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

func (n *fileNode) Setxattr(context.Context, string, []byte, uint32) syscall.Errno {
	return syscall.EROFS
}
