package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/commbench/commbench/targets/wire"
)

// The journal is an append-only file beside the ledger, for runs that kill
// the notification process on purpose: every first delivery, duplicate,
// deduplicated redelivery and dead letter is one fixed-size record written
// with one write(2), before Record returns. A process killed with SIGKILL
// loses nothing the kernel accepted, so a ledger opened again on the same
// file (Open) replays it and carries on with the same counts, ids and
// time-to-notify and hop histograms. There is no fsync: the journal
// survives the death of the process, not of the machine.
//
// A record is 64 bytes, little-endian:
//
//	[0]     kind (recDeliver, recDuplicate, ...)
//	[1]     journalTag, to recognise the file
//	[2:8]   zero
//	[8:16]  reaction id
//	[16:24] sent at, Unix ns
//	[24:32] delivered at, Unix ns
//	[32:64] a first delivery's hop stamps (Stamps: api in, handoff,
//	        notification in, provider start), Unix ns; zero otherwise
const recordSize = 64

// journalTag recognises the file; 0xCB was the 32-byte record without hop
// stamps, which this version refuses rather than misreads.
const journalTag = 0xCC

// Record kinds.
const (
	recDeliver      = 1 // a first delivery: the id's bit and the histograms
	recDuplicate    = 2 // a delivery of an id delivered before
	recDeduplicated = 3 // a redelivery caught before the provider
	recDead         = 4 // a dead letter
	recMark         = 5 // Interval was called: later deliveries are in the open interval
)

// ErrJournal wraps a failure to write the journal.
var ErrJournal = errors.New("ledger journal")

type journal struct {
	f    *os.File
	fd   int
	path string
}

// write appends one record with one write(2). It does not allocate.
func (j *journal) write(kind byte, id uint64, sentAt, deliveredAt int64, st Stamps) error {
	var b [recordSize]byte
	b[0], b[1] = kind, journalTag
	binary.LittleEndian.PutUint64(b[8:], id)
	binary.LittleEndian.PutUint64(b[16:], uint64(sentAt))
	binary.LittleEndian.PutUint64(b[24:], uint64(deliveredAt))
	binary.LittleEndian.PutUint64(b[32:], uint64(st.APIIn))
	binary.LittleEndian.PutUint64(b[40:], uint64(st.Handoff))
	binary.LittleEndian.PutUint64(b[48:], uint64(st.NotifIn))
	binary.LittleEndian.PutUint64(b[56:], uint64(st.ProviderStart))
	for {
		n, err := syscall.Write(j.fd, b[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrJournal, j.path, err)
		}
		if n != recordSize {
			// A regular file takes 64 bytes whole or fails; a short write
			// means the disk is full.
			return fmt.Errorf("%w %s: short write of %d bytes", ErrJournal, j.path, n)
		}
		return nil
	}
}

// Open returns a ledger journalled to path: a new file, or one a previous
// process left, which is replayed first — counts, delivered ids, dead
// letters and the time-to-notify and hop histograms carry on where that process
// stopped, and the deliveries after its last Interval call are in the open
// interval. Reset empties the file. Close the ledger to close the file.
func Open(path string) (*Ledger, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJournal, err)
	}
	l := New()
	size, err := l.replay(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	// A record cut short (a full disk) is dropped, so that the next append
	// starts on a record boundary.
	if size%recordSize != 0 {
		if err := f.Truncate(size - size%recordSize); err != nil {
			f.Close()
			return nil, fmt.Errorf("%w %s: drop a partial last record: %w", ErrJournal, path, err)
		}
	}
	l.journal = &journal{f: f, fd: int(f.Fd()), path: path}
	return l, nil
}

// replay applies the journal in f to l and returns the file's size.
func (l *Ledger) replay(f *os.File, path string) (int64, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, fmt.Errorf("%w %s: %w", ErrJournal, path, err)
	}
	s := l.state
	lastMark := -1 // the byte offset of the last mark
	whole := len(data) - len(data)%recordSize
	// A partial last record must still be ours: a short foreign file is
	// refused, not truncated.
	if rest := data[whole:]; len(rest) >= 2 && rest[1] != journalTag {
		return 0, fmt.Errorf("%w %s: last record at byte %d is not a commbench ledger record (tag %#x); remove the file to start afresh", ErrJournal, path, whole, rest[1])
	}
	for off := 0; off < whole; off += recordSize {
		if data[off+1] != journalTag || data[off] < recDeliver || data[off] > recMark {
			return 0, fmt.Errorf("%w %s: record at byte %d is not a commbench ledger record (kind %d, tag %#x); remove the file to start afresh", ErrJournal, path, off, data[off], data[off+1])
		}
		if data[off] == recMark {
			lastMark = off
		}
	}
	for off := 0; off < whole; off += recordSize {
		r := data[off : off+recordSize]
		id := binary.LittleEndian.Uint64(r[8:])
		switch r[0] {
		case recDeliver:
			if id == 0 || id > wire.MaxID {
				return 0, fmt.Errorf("%w %s: record at byte %d: %w", ErrJournal, path, off, wire.ErrIDRange)
			}
			if first, _ := l.ids.Add(id); !first { // in range: checked above
				// A second first delivery of one id (a journal written
				// twice over, or corrupt): what Record counts it as.
				s.duplicates.Add(1)
				continue
			}
			s.delivered.Add(1)
			sentAt, deliveredAt := int64(binary.LittleEndian.Uint64(r[16:])), int64(binary.LittleEndian.Uint64(r[24:]))
			us := l.micros(sentAt, deliveredAt)
			_ = s.notify.RecordValue(us)
			if off > lastMark {
				_ = s.interval.RecordValue(us)
			}
			st := Stamps{
				APIIn:         int64(binary.LittleEndian.Uint64(r[32:])),
				Handoff:       int64(binary.LittleEndian.Uint64(r[40:])),
				NotifIn:       int64(binary.LittleEndian.Uint64(r[48:])),
				ProviderStart: int64(binary.LittleEndian.Uint64(r[56:])),
			}
			if st.complete() {
				s.recordHops(sentAt, st, deliveredAt)
			} else {
				s.untraced.Add(1)
			}
		case recDuplicate:
			s.duplicates.Add(1)
		case recDeduplicated:
			s.deduplicated.Add(1)
		case recDead:
			if id == 0 { // DeadLetter is never given 0: not a record of ours
				return 0, fmt.Errorf("%w %s: record at byte %d: a dead letter of id 0; remove the file to start afresh", ErrJournal, path, off)
			}
			s.dead[id] = struct{}{}
		}
	}
	return int64(len(data)), nil
}

// micros is time-to-notify in microseconds, within the histogram's bounds;
// a value above is counted as clamped.
func (l *Ledger) micros(sentAt, deliveredAt int64) int64 {
	us := (deliveredAt - sentAt) / 1000
	if us < 0 {
		us = 0 // clocks of one machine; a negative value is rounding
	}
	if us > wire.HighestMicros {
		us = wire.HighestMicros
		l.state.clamped.Add(1)
	}
	return us
}

// Journal is the path of the ledger's journal, "" when it has none.
func (l *Ledger) Journal() string {
	if l.journal == nil {
		return ""
	}
	return l.journal.path
}

// Close closes the journal, if any. The ledger must not be used after.
func (l *Ledger) Close() error {
	if l.journal == nil {
		return nil
	}
	l.swap.Lock()
	defer l.swap.Unlock()
	return l.journal.f.Close()
}
