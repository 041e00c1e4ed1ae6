// Package slogjournal is a log/slog handler that writes to the systemd
// journal with structured fields, so that `journalctl DEVICE=d MODULE=m`
// finds a daemon's lines. Each attribute becomes a field named by its key
// in upper case ("module" → MODULE); the message also carries the
// attributes as key=value text for people reading plain journalctl output.
//
// It does not decide whether to use the journal: Use tells, from
// JOURNAL_STREAM, whether stderr is connected to it.
package slogjournal

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/coreos/go-systemd/v22/journal"
)

// identifier names the program in SYSLOG_IDENTIFIER, so `journalctl -t`
// finds it as it would with plain stderr.
var identifier = filepath.Base(os.Args[0])

// Use reports whether stderr is the journal, as systemd says through
// JOURNAL_STREAM, and the journal socket is there.
func Use() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok && journal.Enabled()
}

// Handler sends records to the journal.
type Handler struct {
	level  slog.Leveler
	attrs  []prefixed // from WithAttrs, with the groups open then
	groups string     // "a_b_" prefix for fields of nested groups

	mu *sync.Mutex
}

// New returns a Handler for records at level or above.
func New(level slog.Leveler) *Handler {
	return &Handler{level: level, mu: &sync.Mutex{}}
}

type prefixed struct {
	prefix string
	a      slog.Attr
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	fields := map[string]string{"SYSLOG_IDENTIFIER": identifier}
	var text strings.Builder
	text.WriteString(r.Message)
	for _, p := range h.attrs {
		h.appendAttr(fields, &text, p.prefix, p.a)
	}
	r.Attrs(func(a slog.Attr) bool {
		h.appendAttr(fields, &text, h.groups, a)
		return true
	})

	h.mu.Lock()
	defer h.mu.Unlock()
	return journal.Send(text.String(), priority(r.Level), fields)
}

func (h *Handler) appendAttr(fields map[string]string, text *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "_"
		}
		for _, g := range a.Value.Group() {
			h.appendAttr(fields, text, p, g)
		}
		return
	}
	v := a.Value.String()
	fmt.Fprintf(text, " %s%s=%q", prefix, a.Key, v)
	fields[fieldName(prefix+a.Key)] = v
}

// fieldName turns a slog key into a journal field name: upper case letters,
// digits and underscores, not starting with an underscore or digit.
func fieldName(key string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(key) {
		if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), "_0123456789")
	if s == "" {
		s = "FIELD"
	}
	return s
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	default:
		return journal.PriDebug
	}
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]prefixed{}, h.attrs...)
	for _, a := range attrs {
		h2.attrs = append(h2.attrs, prefixed{h.groups, a})
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups += name + "_"
	return &h2
}
