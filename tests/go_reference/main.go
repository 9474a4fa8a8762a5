// Command go_reference checks provledger's notes, proofs and published tiles with the Go
// reference implementations golang.org/x/mod/sumdb/note (C2SP signed notes) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 proofs and tiles). tests/test_go_reference.py
// runs it; it prints "OK" and exits 0, or prints the error and exits 1.
//
//	go_reference note VKEY NOTE
//	go_reference record PROOF.json
//	go_reference entry VKEY PROOF.json
//	go_reference consistency VKEY OLD NEW PROOF.json
//	go_reference tiles VKEY DIR
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type proof struct {
	RecordHash     string   `json:"record_hash"`
	LeafIndex      int64    `json:"leaf_index"`
	TreeSize       int64    `json:"tree_size"`
	Path           []string `json:"path"`
	Root           string   `json:"root"`
	Note           string   `json:"note"`
	CanonicalEntry string   `json:"canonical_entry"`
	Entry          struct {
		EntryHash string `json:"entry_hash"`
	} `json:"entry"`
	OldSize int64  `json:"old_size"`
	NewSize int64  `json:"new_size"`
	OldRoot string `json:"old_root"`
	NewRoot string `json:"new_root"`
}

func hash(s string) tlog.Hash {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != tlog.HashSize {
		fail(fmt.Errorf("not a 32-byte hex hash: %q", s))
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hash(s)
	}
	return out
}

func fail(err error) {
	fmt.Println("FAIL:", err)
	os.Exit(1)
}

func read(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	return data
}

func readProof(path string) proof {
	var p proof
	if err := json.Unmarshal(read(path), &p); err != nil {
		fail(err)
	}
	return p
}

// openNote verifies a checkpoint note with the verifier key and returns its tree.
func openNote(vkey string, text []byte) tlog.Tree {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail(err)
	}
	n, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		fail(err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 3 || lines[0] != verifier.Name() {
		fail(fmt.Errorf("not a checkpoint of %s", verifier.Name()))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail(err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail(fmt.Errorf("bad root"))
	}
	tree := tlog.Tree{N: size}
	copy(tree.Hash[:], root)
	return tree
}

// dirTiles reads tlog-tiles from a directory: the sumdb path tile/8/L/N less its height.
type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }

func (d dirTiles) path(t tlog.Tile) string {
	path := strings.Replace(t.Path(), "tile/8/data/", "tile/entries/", 1)
	return filepath.Join(d.dir, strings.Replace(path, "tile/8/", "tile/", 1))
}

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(d.path(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func checkTiles(vkey, dir string) {
	tree := openNote(vkey, read(filepath.Join(dir, "checkpoint")))
	reader := tlog.TileHashReader(tree, dirTiles{dir})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil {
		fail(err)
	}
	if root != tree.Hash {
		fail(fmt.Errorf("tiles give root %v, the checkpoint says %v", root, tree.Hash))
	}
	// Every entry bundle entry hashes (RFC 6962) to its leaf, which the reader proved.
	for start := int64(0); start < tree.N; start += 256 {
		t := tlog.TileForIndex(8, tlog.StoredHashIndex(0, start))
		t.W = int(min64(256, tree.N-start))
		t.L = -1
		data := read(dirTiles{dir}.path(t))
		indexes := make([]int64, t.W)
		for i := range indexes {
			indexes[i] = tlog.StoredHashIndex(0, start+int64(i))
		}
		leaves, err := reader.ReadHashes(indexes)
		if err != nil {
			fail(err)
		}
		for i, want := range leaves {
			if len(data) < 2 {
				fail(fmt.Errorf("entry bundle %s is short", t.Path()))
			}
			size := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+size {
				fail(fmt.Errorf("entry bundle %s is short", t.Path()))
			}
			if tlog.RecordHash(data[2:2+size]) != want {
				fail(fmt.Errorf("entry %d does not hash to its leaf", start+int64(i)))
			}
			data = data[2+size:]
		}
		if len(data) != 0 {
			fail(fmt.Errorf("entry bundle %s has trailing bytes", t.Path()))
		}
	}
	// Every published tile path parses back as the reference encodes it.
	err = filepath.Walk(filepath.Join(dir, "tile"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = strings.Replace(filepath.ToSlash(rel), "tile/entries/", "tile/data/", 1)
		_, err = tlog.ParseTilePath(strings.Replace(rel, "tile/", "tile/8/", 1))
		return err
	})
	if err != nil {
		fail(err)
	}
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		fail(fmt.Errorf("usage: see the source"))
	}
	switch args[0] {
	case "note":
		openNote(args[1], read(args[2]))
	case "record":
		p := readProof(args[1])
		record := hash(p.RecordHash)
		leaf := tlog.RecordHash(record[:])
		if err := tlog.CheckRecord(hashes(p.Path), p.TreeSize, hash(p.Root), p.LeafIndex, leaf); err != nil {
			fail(err)
		}
	case "entry":
		p := readProof(args[2])
		tree := openNote(args[1], []byte(p.Note))
		entryHash := sha256.Sum256([]byte(p.CanonicalEntry))
		if hex.EncodeToString(entryHash[:]) != p.Entry.EntryHash {
			fail(fmt.Errorf("entry hash is not the SHA-256 of the canonical entry"))
		}
		leaf := tlog.RecordHash(entryHash[:])
		if err := tlog.CheckRecord(hashes(p.Path), tree.N, tree.Hash, p.LeafIndex, leaf); err != nil {
			fail(err)
		}
	case "consistency":
		old := openNote(args[1], read(args[2]))
		new := openNote(args[1], read(args[3]))
		p := readProof(args[4])
		if p.OldSize != old.N || p.NewSize != new.N {
			fail(fmt.Errorf("the proof's sizes are not the notes' sizes"))
		}
		if err := tlog.CheckTree(hashes(p.Path), new.N, new.Hash, old.N, old.Hash); err != nil {
			fail(err)
		}
	case "tiles":
		checkTiles(args[1], args[2])
	default:
		fail(fmt.Errorf("unknown check %q", args[0]))
	}
	fmt.Println("OK")
}
