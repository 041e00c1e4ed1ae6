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
// session itself, as the module, before the module's container exists:
// it connects with a persistent session, subscribes to the module's inputs
// at QoS 1 and disconnects. From then on the broker keeps the module's
// inputs for it, within the queue limits, until the module connects and
// takes them (with a persistent session of its own, as the SDK does).
//
// A marker file per module records that its session was opened, so that
// restarting edgeplaned does not connect as a module that is running (the
// broker would disconnect the module to let the new connection in). The
// broker saves sessions in its persistence file, so they survive its
// restarts. When a module is removed, its session is discarded with it, so
// that a module added again later under the same name starts empty.

// sessionTimeout bounds one connection that opens or discards a session.
const sessionTimeout = 10 * time.Second

func (b *Bus) sessionMarker(module string) string {
	return filepath.Join(b.files.sessions, module)
}

// openSessions opens the session of every module that has none yet. It
// logs and leaves for a later call what fails (the broker may be
// restarting). b.mu is held and the bus is open to modules.
func (b *Bus) openSessions() {
	for _, m := range b.modules {
		if _, err := os.Stat(b.sessionMarker(m)); err == nil {
			continue
		}
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
	secret, err := b.secret(module)
	if err != nil {
		return err
	}
	o := mqtt.NewClientOptions().
		AddBroker("unix://" + b.files.sock).
		SetClientID(module).
		SetUsername(module).
		SetPassword(secret).
		SetCleanSession(clean).
		SetAutoAckDisabled(true).
		SetAutoReconnect(false).
		SetConnectTimeout(sessionTimeout)
	o.SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) {})
	c := mqtt.NewClient(o)
	if err := wait(c.Connect(), "connecting"); err != nil {
		return err
	}
	defer c.Disconnect(0)
	if clean {
		return nil
	}
	return wait(c.Subscribe(topic.Inputs(module), 1, nil), "subscribing to its inputs")
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
