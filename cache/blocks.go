package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Cached bytes are checked in blocks: every block of blockSize bytes of a
// page (the last one shorter) has a CRC-32C written beside the data when
// it is cached, and a read checks the blocks it touches, not the whole
// page. The checksums are on disk, not in the index, so small blocks cost
// no memory: 4 KiB makes a 4 KiB read of a large file read 4-8 KiB (64
// KiB blocks made the benchmark's ranged reads spend a third of the
// worker's CPU in pread), and cost 0.1% of the disk.
const blockSize = 4 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks bytes that fail their checks; they are dropped and read
// again from the origin.
var errCorrupt = errors.New("cache: corrupt data")

// blockLen is the size of the blocks of pages of pageSize bytes.
func blockLen(pageSize int64) int64 { return min(pageSize, blockSize) }

// blocksIn is how many blocks n bytes take.
func blocksIn(n, block int64) int64 { return (n + block - 1) / block }

// putSums writes the CRC-32C of each block of data to sums (4 bytes each).
func putSums(sums, data []byte, block int64) {
	for i := int64(0); len(data) > 0; i++ {
		n := min(int64(len(data)), block)
		binary.LittleEndian.PutUint32(sums[4*i:], crc32.Checksum(data[:n], castagnoli))
		data = data[n:]
	}
}

// checkSums checks data, the blocks from block first on, against sums,
// their checksums.
func checkSums(sums, data []byte, block, first int64) error {
	for i := int64(0); len(data) > 0; i++ {
		n := min(int64(len(data)), block)
		if crc32.Checksum(data[:n], castagnoli) != binary.LittleEndian.Uint32(sums[4*i:]) {
			return fmt.Errorf("%w: block %d fails its checksum", errCorrupt, first+i)
		}
		data = data[n:]
	}
	return nil
}
