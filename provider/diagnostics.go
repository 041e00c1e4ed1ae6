package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/edgeplane/edgeplane/hub/client"
)

// addHubError adds the diagnostic for a failed hub call. summary is Title
// Case ("Unable to Create Module"); attempted says what was being done in a
// sentence ("Creating module \"sensor\" of device \"gw-1\" failed."). The
// detail then says what the user can do and ends with the error itself.
// When the hub names a field that is one of attrs, the diagnostic points at
// that attribute.
func addHubError(diags *diag.Diagnostics, summary, attempted string, err error, attrs ...string) {
	detail := attempted + " " + hubAdvice(err) + "\n\nError: " + err.Error()

	var he *client.Error
	if errors.As(err, &he) && he.Field != "" {
		root := he.Field
		if i := strings.IndexAny(root, ".["); i >= 0 {
			root = root[:i]
		}
		for _, a := range attrs {
			if a == root {
				diags.AddAttributeError(path.Root(a), summary, detail)
				return
			}
		}
	}
	diags.AddError(summary, detail)
}

// hubAdvice says in a sentence what to do about err.
func hubAdvice(err error) string {
	var he *client.Error
	switch {
	case errors.Is(err, client.ErrVersionMismatch):
		return "The object changed on the hub after Terraform last read it, so the " +
			"change was not applied. Run terraform apply again: it refreshes first and " +
			"shows the difference to resolve."
	case errors.Is(err, client.ErrUnauthorized):
		return "The hub rejected the operator token. Check the provider's token " +
			"attribute or the EDGEPLANE_TOKEN environment variable."
	case errors.Is(err, client.ErrForbidden):
		return "The hub does not accept these credentials for the operator API. Use an " +
			"operator token, not a device token."
	case errors.Is(err, client.ErrInvalid), errors.Is(err, client.ErrBadRequest):
		if errors.As(err, &he) && he.Field != "" {
			return fmt.Sprintf("The hub rejected the value of %s; correct it in the "+
				"configuration.", he.Field)
		}
		return "The hub rejected the request; correct the configuration as the error says."
	case errors.Is(err, client.ErrNotFound):
		return "The hub does not know the object or the device it belongs to. Create the " +
			"device (and module) first, or reference them so Terraform orders the work."
	case errors.Is(err, client.ErrTooLarge):
		return "The request is larger than the hub accepts; make the value smaller."
	case errors.Is(err, client.ErrUnavailable), errors.Is(err, client.ErrInternal):
		return "The hub could not serve the request; check the hub's log and retry."
	case errors.As(err, &he):
		return "Check the hub's log for the reason."
	default:
		return "Check that the hub is running and reachable at the provider's endpoint."
	}
}

// isGone reports whether err says the object no longer exists.
func isGone(err error) bool { return errors.Is(err, client.ErrNotFound) }
