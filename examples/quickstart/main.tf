# The quick start's fleet: two gateways, each running a simulated temperature
# sensor and a filter that forwards readings above a threshold to $upstream.
# `make quickstart` applies this against the local hub it starts; the
# variables below are filled in by that script.

terraform {
  required_providers {
    edgeplane = {
      source = "edgeplane/edgeplane"
    }
  }
}

provider "edgeplane" {
  endpoint = var.hub_endpoint
  token    = var.hub_token
}

locals {
  gateways = toset(var.gateways)
}

resource "edgeplane_device" "gw" {
  for_each  = local.gateways
  device_id = each.key
  tags      = { fleet = "quickstart" }
}

resource "edgeplane_registry_credential" "local" {
  for_each  = local.gateways
  device_id = edgeplane_device.gw[each.key].device_id
  name      = "local"
  server    = var.registry
  username  = var.registry_username
  password  = var.registry_password
}

resource "edgeplane_device_upstream" "cloud" {
  for_each     = local.gateways
  device_id    = edgeplane_device.gw[each.key].device_id
  url          = var.upstream_url
  client_id    = each.key
  topic_prefix = "edgeplane"
}

resource "edgeplane_module" "sensor" {
  for_each      = local.gateways
  device_id     = edgeplane_device.gw[each.key].device_id
  name          = "sensor"
  image         = "${var.registry}/edgeplane/tempsensor:dev"
  startup_order = 1
}

resource "edgeplane_module" "filter" {
  for_each      = local.gateways
  device_id     = edgeplane_device.gw[each.key].device_id
  name          = "filter"
  image         = "${var.registry}/edgeplane/filter:dev"
  startup_order = 0
}

resource "edgeplane_module_twin" "sensor" {
  for_each  = local.gateways
  device_id = edgeplane_device.gw[each.key].device_id
  module    = edgeplane_module.sensor[each.key].name
  desired = jsonencode({
    interval_ms = 500
    min         = 15
    max         = 35
  })
}

resource "edgeplane_module_twin" "filter" {
  for_each  = local.gateways
  device_id = edgeplane_device.gw[each.key].device_id
  module    = edgeplane_module.filter[each.key].name
  desired = jsonencode({
    threshold = var.threshold
  })
}

resource "edgeplane_route" "sensor_to_filter" {
  for_each  = local.gateways
  device_id = edgeplane_device.gw[each.key].device_id
  name      = "sensor-to-filter"
  route     = "FROM /messages/modules/sensor/outputs/temperature INTO BrokeredEndpoint(\"/modules/filter/inputs/input1\")"
}

resource "edgeplane_route" "alerts_upstream" {
  for_each             = local.gateways
  device_id            = edgeplane_device.gw[each.key].device_id
  name                 = "alerts-upstream"
  route                = "FROM /messages/modules/filter/outputs/output1 WHERE alert = 'true' INTO $upstream"
  priority             = 1
  time_to_live_seconds = 3600
}
