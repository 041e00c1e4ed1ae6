# A fleet of gateways across several sites. Every gateway runs a sensor
# module that reads a serial temperature probe and a filter module that
# passes on readings above the site's threshold; the filter's alerts go
# upstream, everything else stays on the gateway.
#
# Add a site or a gateway in variables.tf (or a .tfvars file) and apply:
# Terraform creates the device, its modules, twins and routes; the gateway
# picks them up on its next long-poll.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    edgeplane = {
      source = "edgeplane/edgeplane"
    }
  }
}

# Endpoint and token come from EDGEPLANE_ENDPOINT and EDGEPLANE_TOKEN.
provider "edgeplane" {}

locals {
  # One entry per gateway: "berlin-gw-1" => { site = "berlin", ... }.
  gateways = merge([
    for site, s in var.sites : {
      for i in range(s.gateways) : format("%s-gw-%d", site, i + 1) => {
        site      = site
        threshold = s.threshold_celsius
        interval  = s.interval_ms
      }
    }
  ]...)
}

resource "edgeplane_device" "gw" {
  for_each  = local.gateways
  device_id = each.key
  tags = {
    site  = each.value.site
    role  = "gateway"
    fleet = var.fleet
  }
}

resource "edgeplane_module" "sensor" {
  for_each      = edgeplane_device.gw
  device_id     = each.value.device_id
  name          = "sensor"
  image         = "${var.registry}/sensor:${var.sensor_version}"
  startup_order = 1
  env = {
    PROBE_DEVICE = "/dev/ttyUSB0"
    SITE         = local.gateways[each.key].site
  }
  create_options = jsonencode({
    devices      = [{ host_path = "/dev/ttyUSB0", permissions = "rw" }]
    memory_bytes = 33554432
  })
}

resource "edgeplane_module" "filter" {
  for_each      = edgeplane_device.gw
  device_id     = each.value.device_id
  name          = "filter"
  image         = "${var.registry}/filter:${var.filter_version}"
  startup_order = 2
  create_options = jsonencode({
    memory_bytes = 33554432
    health_check = { test = ["CMD", "/filter", "-healthcheck"], interval = "30s", retries = 3 }
  })
}

resource "edgeplane_module_twin" "sensor" {
  for_each  = edgeplane_module.sensor
  device_id = each.value.device_id
  module    = each.value.name
  desired = jsonencode({
    interval_ms = local.gateways[each.key].interval
    unit        = "celsius"
  })
}

resource "edgeplane_module_twin" "filter" {
  for_each  = edgeplane_module.filter
  device_id = each.value.device_id
  module    = each.value.name
  desired = jsonencode({
    threshold_celsius = local.gateways[each.key].threshold
  })
}

resource "edgeplane_route" "sensor_to_filter" {
  for_each  = edgeplane_device.gw
  device_id = each.value.device_id
  name      = "sensor-to-filter"
  route     = "FROM /messages/modules/sensor/outputs/temperature INTO BrokeredEndpoint(\"/modules/filter/inputs/input1\")"
}

resource "edgeplane_route" "alerts_upstream" {
  for_each             = edgeplane_device.gw
  device_id            = each.value.device_id
  name                 = "alerts-upstream"
  route                = "FROM /messages/modules/filter/outputs/alerts INTO $upstream"
  priority             = 0
  time_to_live_seconds = 86400
}

resource "edgeplane_device_upstream" "gw" {
  for_each  = var.upstream_url == "" ? {} : edgeplane_device.gw
  device_id = each.value.device_id
  url       = var.upstream_url
  username  = each.value.device_id
  password  = var.upstream_password
}
