// Package version holds the version string that every Edgeplane program
// reports. Release builds set it with
// -ldflags "-X github.com/edgeplane/edgeplane/internal/version.Version=v1.2.3".
package version

// Version is the release version, or "dev" for a build from source.
var Version = "dev"
