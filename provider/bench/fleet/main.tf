# Benchmark fleet: var.devices gateways, each with 3 modules, 3 twins and 2
# routes (9 resources per device with the device itself).

terraform {
  required_providers {
    edgeplane = { source = "edgeplane/edgeplane" }
  }
}

provider "edgeplane" {}

variable "devices" {
  type    = number
  default = 200
}

locals {
  ids     = toset([for i in range(var.devices) : format("bench-gw-%04d", i)])
  modules = toset(["sensor", "filter", "forwarder"])
  pairs   = { for p in setproduct(local.ids, local.modules) : "${p[0]}/${p[1]}" => { device = p[0], module = p[1] } }
  routes = {
    for p in setproduct(local.ids, ["sensor-to-filter", "filter-to-upstream"]) : "${p[0]}/${p[1]}" => {
      device = p[0]
      name   = p[1]
      route  = p[1] == "sensor-to-filter" ? "FROM /messages/modules/sensor/outputs/temperature INTO BrokeredEndpoint(\"/modules/filter/inputs/input1\")" : "FROM /messages/modules/filter/outputs/alerts INTO $upstream"
    }
  }
}

resource "edgeplane_device" "gw" {
  for_each  = local.ids
  device_id = each.key
  tags      = { fleet = "bench" }
}

resource "edgeplane_module" "m" {
  for_each       = local.pairs
  device_id      = edgeplane_device.gw[each.value.device].device_id
  name           = each.value.module
  image          = "registry.local:5000/${each.value.module}:1.0"
  create_options = jsonencode({ memory_bytes = 33554432 })
}

resource "edgeplane_module_twin" "t" {
  for_each  = local.pairs
  device_id = edgeplane_module.m[each.key].device_id
  module    = edgeplane_module.m[each.key].name
  desired   = jsonencode({ interval_ms = 1000 })
}

resource "edgeplane_route" "r" {
  for_each  = local.routes
  device_id = edgeplane_device.gw[each.value.device].device_id
  name      = each.value.name
  route     = each.value.route
}
