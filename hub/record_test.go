package hub_test

import "net/http"

// recordingHandler wraps the server under test; the OpenAPI test replaces
// it with one that checks each exchange against docs/openapi.yaml.
func recordingHandler(h http.Handler) http.Handler { return h }
