package provision

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/runtime/gateway"
)

// fatFile is one file on a test FAT image.
type fatFile struct {
	name string
	data string
}

// script is the provisioning script under test, as installed in the image.
var script, _ = filepath.Abs("edgeplane-provision")

// needTools fails (or, with -short, skips) when the script's tools are
// missing.
func needTools(t *testing.T) {
	t.Helper()
	for bin, pkg := range map[string]string{"mkfs.vfat": "dosfstools", "mcopy": "mtools", "bash": "bash"} {
		if _, err := exec.LookPath(bin); err != nil {
			if testing.Short() {
				t.Skipf("%s not found (package %s)", bin, pkg)
			}
			t.Fatalf("%s not found: install the Debian package %s (make deps)", bin, pkg)
		}
	}
}

// fatImage makes a FAT filesystem image labelled EPPROV holding files, the
// way a laptop would see the partition.
func fatImage(t *testing.T, files []fatFile) string {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "prov.img")
	run(t, "mkfs.vfat", "-C", "-n", "EPPROV", img, "1024")
	for _, f := range files {
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "mcopy", "-i", img, src, "::/"+f.name)
	}
	return img
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// provision runs the script with root prefix root and devices; it returns
// the exit code and stderr.
func provision(t *testing.T, root string, devices ...string) (int, string) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(),
		"EP_ROOT="+root,
		"EP_PROV_DEVICES="+strings.Join(devices, " "),
		"EP_USER="+u.Username,
		"EP_NO_START=1",
		"JOURNAL_STREAM=",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", script, err)
	}
	return code, stderr.String()
}

var (
	key32   = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	key16   = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16))
	key31   = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 31))
	key33   = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 33))
	caPEM   = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
	goodCfg = "EDGEPLANE_HUB_URL=https://hub.example.com:8443\nEDGEPLANE_DEVICE_ID=gw-1\nEDGEPLANE_DEVICE_KEY=" + key32 + "\n"
)

func TestProvision(t *testing.T) {
	needTools(t)

	tests := []struct {
		name  string
		files []fatFile
		// wantErr is a part of the NOT PROVISIONED line; "" means success.
		wantErr string
		// wantYAML are lines the written configuration must contain.
		wantYAML []string
		// wantFiles are paths under the root that must exist afterwards.
		wantFiles []string
	}{
		{
			name:     "minimal",
			files:    []fatFile{{"provision.conf", goodCfg}},
			wantYAML: []string{`hub_url: "https://hub.example.com:8443"`, `device_id: "gw-1"`, `device_key: "` + key32 + `"`, `log_level: "info"`},
		},
		{
			name: "laptop editor: BOM, CRLF, quotes, blanks, comments",
			files: []fatFile{{"provision.conf", "\xef\xbb\xbf# made on a laptop\r\n\r\n" +
				"  EDGEPLANE_HUB_URL = \"http://10.0.2.100:8080\"  \r\nEDGEPLANE_DEVICE_ID='gw.lab_2'\r\n" +
				"EDGEPLANE_DEVICE_KEY=" + key32}},
			wantYAML: []string{`hub_url: "http://10.0.2.100:8080"`, `device_id: "gw.lab_2"`},
		},
		{
			name: "hub CA and insecure registries",
			files: []fatFile{
				{"provision.conf", goodCfg + "EDGEPLANE_HUB_CA=hub-ca.pem\nEDGEPLANE_INSECURE_REGISTRIES=10.0.2.100:5000,lab\nEDGEPLANE_LOG_LEVEL=debug\n"},
				{"hub-ca.pem", caPEM},
			},
			wantYAML:  []string{`hub_ca_file: "/etc/edgeplane/hub-ca-`, `log_level: "debug"`},
			wantFiles: []string{"etc/containers/registries.conf.d/50-edgeplane-provision.conf"},
		},
		{name: "no provision.conf", files: []fatFile{{"README.txt", "x"}}, wantErr: "no provision.conf on"},
		{name: "editor added .txt", files: []fatFile{{"provision.conf.txt", goodCfg}}, wantErr: "rename provision.conf.txt"},
		{name: "not an http URL", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, "https://", "ftp://", 1)}}, wantErr: "EDGEPLANE_HUB_URL"},
		{name: "URL with a space", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, "hub.example", "hub example", 1)}}, wantErr: "EDGEPLANE_HUB_URL"},
		{name: "id starts with a dash", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, "=gw-1", "=-gw", 1)}}, wantErr: "EDGEPLANE_DEVICE_ID"},
		{name: "id too long", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, "=gw-1", "="+strings.Repeat("g", 129), 1)}}, wantErr: "EDGEPLANE_DEVICE_ID"},
		{name: "key not base64", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, key32, "not-base64!", 1)}}, wantErr: "not standard base64"},
		{name: "key too short", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, key32, key16, 1)}}, wantErr: "decodes to 16 bytes"},
		{name: "key of 31 bytes", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, key32, key31, 1)}}, wantErr: "decodes to 31 bytes"},
		{name: "key of 33 bytes", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, key32, key33, 1)}}, wantYAML: []string{key33}},
		{name: "key missing", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, "EDGEPLANE_DEVICE_KEY", "#", 1)}}, wantErr: "does not set EDGEPLANE_DEVICE_KEY"},
		{name: "misspelt setting", files: []fatFile{{"provision.conf", goodCfg + "EDGEPLANE_HUB_ULR=x\n"}}, wantErr: "line 4 has the unknown setting EDGEPLANE_HUB_ULR"},
		{name: "setting twice", files: []fatFile{{"provision.conf", goodCfg + "EDGEPLANE_DEVICE_ID=gw-2\n"}}, wantErr: "line 4 sets EDGEPLANE_DEVICE_ID a second time"},
		{name: "not KEY=VALUE", files: []fatFile{{"provision.conf", "hello world\n" + goodCfg}}, wantErr: "line 1 is not KEY=VALUE"},
		{name: "CA file missing", files: []fatFile{{"provision.conf", goodCfg + "EDGEPLANE_HUB_CA=ca.pem\n"}}, wantErr: "names ca.pem, which is not on"},
		{name: "CA not PEM", files: []fatFile{{"provision.conf", goodCfg + "EDGEPLANE_HUB_CA=ca.pem\n"}, {"ca.pem", "hello"}}, wantErr: "holds no PEM certificate"},
		{name: "CA path", files: []fatFile{{"provision.conf", goodCfg + "EDGEPLANE_HUB_CA=../ca.pem\n"}}, wantErr: "not a plain file name"},
		{name: "CA with http", files: []fatFile{{"provision.conf", strings.Replace(goodCfg, "https", "http", 1) + "EDGEPLANE_HUB_CA=ca.pem\n"}, {"ca.pem", caPEM}}, wantErr: "not https://"},
		{name: "bad registry", files: []fatFile{{"provision.conf", goodCfg + "EDGEPLANE_INSECURE_REGISTRIES=a b:x\n"}}, wantErr: "EDGEPLANE_INSECURE_REGISTRIES entry"},
		{name: "bad log level", files: []fatFile{{"provision.conf", goodCfg + "EDGEPLANE_LOG_LEVEL=loud\n"}}, wantErr: "EDGEPLANE_LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			img := fatImage(t, tt.files)
			code, stderr := provision(t, root, img)
			conf := filepath.Join(root, "etc/edgeplane/edgeplaned.yaml")
			flag := filepath.Join(root, "run/edgeplane/provisioned")

			if tt.wantErr != "" {
				if code == 0 {
					t.Fatalf("got exit 0, want a failure naming %q; stderr:\n%s", tt.wantErr, stderr)
				}
				if !strings.Contains(stderr, "NOT PROVISIONED: ") || !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("got stderr %q, want NOT PROVISIONED naming %q", stderr, tt.wantErr)
				}
				if !strings.Contains(stderr, "To fix: ") {
					t.Errorf("got stderr %q, want a line saying how to fix it", stderr)
				}
				for _, p := range []string{conf, flag} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("got %s written, want nothing on failure", p)
					}
				}
				issue, err := os.ReadFile(filepath.Join(root, "run/issue.d/50-edgeplane.issue"))
				if err != nil || !strings.Contains(string(issue), tt.wantErr) {
					t.Errorf("got login prompt note %q (%v), want it to name %q", issue, err, tt.wantErr)
				}
				return
			}

			if code != 0 {
				t.Fatalf("got exit %d, want 0; stderr:\n%s", code, stderr)
			}
			b, err := os.ReadFile(conf)
			if err != nil {
				t.Fatalf("reading the configuration: %v", err)
			}
			// edgeplaned must accept what provisioning writes.
			if _, err := gateway.ParseConfig(b); err != nil {
				t.Errorf("edgeplaned rejects the written configuration: %v\n%s", err, b)
			}
			for _, want := range tt.wantYAML {
				if !strings.Contains(string(b), want) {
					t.Errorf("got configuration\n%s\nwant a line with %q", b, want)
				}
			}
			fi, err := os.Stat(conf)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("got mode %v, want 0600", got)
			}
			if _, err := os.Stat(flag); err != nil {
				t.Errorf("got no provisioned flag: %v", err)
			}
			for _, f := range tt.wantFiles {
				if _, err := os.Stat(filepath.Join(root, f)); err != nil {
					t.Errorf("got no %s: %v", f, err)
				}
			}
			left, _ := filepath.Glob(filepath.Join(root, "etc/edgeplane/.*"))
			if len(left) != 0 {
				t.Errorf("got temporary files left %v, want none", left)
			}
		})
	}
}

// TestProvisionKeepsState covers what happens across boots: an existing
// configuration, a file removed after provisioning, and a broken update.
func TestProvisionKeepsState(t *testing.T) {
	needTools(t)
	root := t.TempDir()
	conf := filepath.Join(root, "etc/edgeplane/edgeplaned.yaml")
	flag := filepath.Join(root, "run/edgeplane/provisioned")

	// First boot: provisioned.
	if code, stderr := provision(t, root, fatImage(t, []fatFile{{"provision.conf", goodCfg}})); code != 0 {
		t.Fatalf("first boot: got exit %d, want 0: %s", code, stderr)
	}
	first, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("file removed later keeps the configuration", func(t *testing.T) {
		code, stderr := provision(t, root, fatImage(t, nil))
		if code != 0 || !strings.Contains(stderr, "keeping the existing configuration") {
			t.Fatalf("got exit %d, stderr %q; want 0 and the configuration kept", code, stderr)
		}
		if got, _ := os.ReadFile(conf); !bytes.Equal(got, first) {
			t.Errorf("got configuration\n%s\nwant it unchanged", got)
		}
	})

	t.Run("malformed update stops the gateway and keeps the old file", func(t *testing.T) {
		bad := strings.Replace(goodCfg, key32, key16, 1)
		code, _ := provision(t, root, fatImage(t, []fatFile{{"provision.conf", bad}}))
		if code == 0 {
			t.Fatal("got exit 0, want a failure")
		}
		if _, err := os.Stat(flag); err == nil {
			t.Error("got the provisioned flag, want it removed so that edgeplaned stays stopped")
		}
		if got, _ := os.ReadFile(conf); !bytes.Equal(got, first) {
			t.Errorf("got configuration\n%s\nwant the old one untouched", got)
		}
	})

	t.Run("a second disk overrides the first one without provision.conf", func(t *testing.T) {
		other := strings.Replace(goodCfg, "gw-1", "gw-2", 1)
		code, stderr := provision(t, root, fatImage(t, nil), fatImage(t, []fatFile{{"provision.conf", other}}))
		if code != 0 {
			t.Fatalf("got exit %d, want 0: %s", code, stderr)
		}
		if got, _ := os.ReadFile(conf); !strings.Contains(string(got), `device_id: "gw-2"`) {
			t.Errorf("got configuration\n%s\nwant device gw-2", got)
		}
	})

	t.Run("no EPPROV filesystem at all, never provisioned", func(t *testing.T) {
		code, stderr := provision(t, t.TempDir())
		if code == 0 || !strings.Contains(stderr, "no FAT filesystem labelled EPPROV") {
			t.Errorf("got exit %d, stderr %q; want a failure naming the missing label", code, stderr)
		}
	})
}
