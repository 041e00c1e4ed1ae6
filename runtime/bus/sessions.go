package bus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeplane/edgeplane/runtime/bus/topic"
)

// A module's inputs are queued by the broker in the module's persistent
// session. Mosquitto keeps a session only once its client has connected, so
// a message routed to a module that has not yet connected for the first
// time (its container is still being pulled, or it starts after its
// senders) would be dropped. The bus therefore opens each new module's
// session itself, as the module: it connects with a persistent session,
// subscribes to the module's inputs at QoS 1 and disconnects. From then on
// the broker keeps the module's inputs for it, within the queue limits,
// until the module connects and takes them (with a persistent session of
// its own, as the SDK does).
//
// It does so as soon as the module is admitted, before its container is
// created, so that the module itself is not yet there to be disconnected
// by a second connection under its client id. (Admitting the module under
// a one-time secret while its session is opened would close even that
// window, but Mosquitto 2.0 disconnects the offline session when the real
// secret replaces the one-time one on reload, and crashed doing so.) A
// marker file per module records that its session was opened, so that this
// happens once in the module's life and never to a module that is running. The broker saves sessions in its persistence
// file, so they survive its restarts. When a module is removed, its session
// is discarded with it, so that a module added again later under the same
// name starts empty.

// sessionTimeout bounds one connection that opens or discards a session.
const sessionTimeout = 10 * time.Second

func (b *Bus) sessionMarker(module string) string {
	return filepath.Join(b.files.sessions, module)
}

// sessionsToOpen returns the modules whose session the bus has not opened.
func (b *Bus) sessionsToOpen() []string {
	var out []string
	for _, m := range b.modules {
		if _, err := os.Stat(b.sessionMarker(m)); err != nil {
			out = append(out, m)
		}
	}
	return out
}

// openSessions opens the session of every module that has none yet. What
// fails is logged and left for a later call (the broker may be
// restarting). b.mu is held and the modules are admitted.
func (b *Bus) openSessions() {
	for _, m := range b.sessionsToOpen() {
		if err := b.moduleSession(m, false); err != nil {
			b.log.Warn("opening the session of a module; inputs routed to it before it connects may be dropped",
				"module", m, "err", err)
			continue
		}
		if err := writeFileAtomic(b.sessionMarker(m), nil, 0o600); err != nil {
			b.log.Warn("recording the session of a module", "module", m, "err", err)
			continue
		}
		b.log.Debug("module session opened", "module", m)
	}
}

// discardSession ends the session of a module that is being removed, while
// its credential is still valid. b.mu is held.
func (b *Bus) discardSession(module string) {
	if b.open {
		if err := b.moduleSession(module, true); err != nil {
			b.log.Warn("discarding the session of a removed module", "module", module, "err", err)
		}
	}
	if err := os.Remove(b.sessionMarker(module)); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.log.Warn("removing the session marker of a removed module", "module", module, "err", err)
	}
}

// moduleSession connects to the broker as module. With clean false it
// leaves a persistent session subscribed to the module's inputs; with clean
// true it discards the module's session. Messages the broker delivers
// meanwhile are not acknowledged, so it delivers them again to the
// module's next connection.
func (b *Bus) moduleSession(module string, clean bool) error {
	c, err := b.connectOnce(module, clean)
	if err != nil {
		return err
	}
	defer c.Disconnect(0)
	if clean {
		return nil
	}
	return wait(c.Subscribe(topic.Inputs(module), 1, nil), "subscribing to its inputs")
}

// connectOnce connects to the broker as user, with user's secret, for a
// few exchanges: nothing it receives is acknowledged and it does not
// reconnect. The caller disconnects it.
func (b *Bus) connectOnce(user string, clean bool) (mqtt.Client, error) {
	secret, err := b.secret(user)
	if err != nil {
		return nil, err
	}
	o := mqtt.NewClientOptions().
		AddBroker("unix://" + b.files.sock).
		SetClientID(user).
		SetUsername(user).
		SetPassword(secret).
		SetCleanSession(clean).
		SetAutoAckDisabled(true).
		SetAutoReconnect(false).
		SetConnectTimeout(sessionTimeout)
	o.SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) {})
	c := mqtt.NewClient(o)
	if err := wait(c.Connect(), "connecting as "+user); err != nil {
		return nil, err
	}
	return c, nil
}

func wait(t mqtt.Token, what string) error {
	if !t.WaitTimeout(sessionTimeout) {
		return fmt.Errorf("%s: no answer from the broker within %v", what, sessionTimeout)
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
