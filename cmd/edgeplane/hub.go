package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgeplane/edgeplane/hub"
	"github.com/edgeplane/edgeplane/hub/store"
	"github.com/edgeplane/edgeplane/hub/store/postgres"
	"github.com/edgeplane/edgeplane/hub/store/sqlite"
	"github.com/edgeplane/edgeplane/internal/version"
)

// hubTokensEnv holds operator tokens, comma separated.
const hubTokensEnv = "EDGEPLANE_HUB_TOKENS"

var hubServeFlags struct {
	listen      string
	dataDir     string
	database    string
	tokenFile   string
	tlsCert     string
	tlsKey      string
	longPollMax time.Duration
	addrFile    string
	logLevel    string
}

var hubCmd = &cobra.Command{
	Use:   "hub",
	Short: "Run the hub: the operator API and the device API",
	Long: `Run the Edgeplane hub, the control plane that Terraform and gateways talk to.

State lives in SQLite under --data-dir, or in PostgreSQL when --database is
given (several hub replicas may share one database). Operator tokens come
from --token-file (one per line, '#' starts a comment) and from the
EDGEPLANE_HUB_TOKENS environment variable (comma separated); the hub does not
start without one. See docs/hub.md.`,
	Example: `  echo "$(openssl rand -hex 32)" > tokens
  edgeplane hub --listen 127.0.0.1:8080 --data-dir ./hub-data --token-file tokens`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		return runHub(cmd.Context())
	},
}

func init() {
	f := hubCmd.Flags()
	f.StringVar(&hubServeFlags.listen, "listen", "127.0.0.1:8080", "address to serve on; port 0 picks a free one")
	f.StringVar(&hubServeFlags.dataDir, "data-dir", "", "directory of the SQLite database (hub.db)")
	f.StringVar(&hubServeFlags.database, "database", "", "PostgreSQL URL (postgres://...) instead of SQLite")
	f.StringVar(&hubServeFlags.tokenFile, "token-file", "", "file of operator tokens, one a line, '#' comments")
	f.StringVar(&hubServeFlags.tlsCert, "tls-cert", "", "PEM certificate to serve HTTPS with (needs --tls-key)")
	f.StringVar(&hubServeFlags.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.DurationVar(&hubServeFlags.longPollMax, "long-poll-max", hub.DefaultLongPollMax, "longest wait of a device long-poll")
	f.StringVar(&hubServeFlags.addrFile, "addr-file", "", "write the address served on to this file once listening")
	f.StringVar(&hubServeFlags.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	rootCmd.AddCommand(hubCmd)
}

func runHub(ctx context.Context) error {
	// Logging.
	var level slog.Level
	if err := level.UnmarshalText([]byte(hubServeFlags.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", hubServeFlags.logLevel)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	// Tokens and flags, checked before anything is opened.
	tokens, err := hubTokens(hubServeFlags.tokenFile, os.Getenv(hubTokensEnv))
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		return fmt.Errorf("no operator token configured: give --token-file FILE (one token a line) " +
			"or set " + hubTokensEnv + "=token1,token2")
	}
	if (hubServeFlags.tlsCert == "") != (hubServeFlags.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together; give both or neither")
	}
	if hubServeFlags.database == "" && hubServeFlags.dataDir == "" {
		return errors.New("no storage given: use --data-dir DIR for SQLite or --database postgres://... ")
	}

	// Store.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, storeDesc, err := openHubStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	// Server.
	srv, err := hub.New(hub.Config{
		Store: st, Tokens: tokens, LongPollMax: hubServeFlags.longPollMax, Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", hubServeFlags.listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", hubServeFlags.listen, err)
	}
	scheme := "http"
	if hubServeFlags.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(hubServeFlags.tlsCert, hubServeFlags.tlsKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("loading --tls-cert and --tls-key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if hubServeFlags.addrFile != "" {
		if err := os.WriteFile(hubServeFlags.addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			ln.Close()
			return fmt.Errorf("writing --addr-file: %w", err)
		}
	}
	log.Info("hub starting", "version", version.Version, "addr", ln.Addr().String(),
		"scheme", scheme, "store", storeDesc, "long_poll_max", hubServeFlags.longPollMax)

	// Serve until a signal, then answer long-polls and drain.
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("hub stopping")
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("hub stopped")
	return nil
}

func openHubStore(ctx context.Context) (store.Store, string, error) {
	if hubServeFlags.database != "" {
		if !strings.HasPrefix(hubServeFlags.database, "postgres://") &&
			!strings.HasPrefix(hubServeFlags.database, "postgresql://") {
			return nil, "", errors.New("--database must be a postgres:// or postgresql:// URL")
		}
		st, err := postgres.Open(ctx, hubServeFlags.database)
		if err != nil {
			return nil, "", err
		}
		return st, "postgres", nil
	}
	st, err := sqlite.Open(ctx, hubServeFlags.dataDir)
	if err != nil {
		return nil, "", err
	}
	return st, "sqlite:" + hubServeFlags.dataDir, nil
}

// hubTokens reads operator tokens from a file (one a line, '#' comments,
// blank lines ignored) and from a comma-separated list.
func hubTokens(file, env string) ([]string, error) {
	var tokens []string
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("reading --token-file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			if t := strings.TrimSpace(line); t != "" {
				tokens = append(tokens, t)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading --token-file: %w", err)
		}
	}
	for _, t := range strings.Split(env, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	return tokens, nil
}
