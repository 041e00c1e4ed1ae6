terraform {
  required_providers {
    edgeplane = {
      source = "edgeplane/edgeplane"
    }
  }
}

# Endpoint and token may also come from EDGEPLANE_ENDPOINT and EDGEPLANE_TOKEN.
provider "edgeplane" {
  endpoint = "https://hub.example.com:8443"
  token    = var.hub_token
  # ca_certificate = file("hub-ca.pem")
}

variable "hub_token" {
  type      = string
  sensitive = true
}
