# Benchmark fleet: var.devices gateways, each with 3 modules, 3 twins and 2
# routes (9 resources per device with the device itself). Each resource
# block iterates over the one before it (for_each over a resource), the way
# examples/fleet is written: per-instance references into another
# resource's instances would make Terraform's own evaluation quadratic.

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
  ids = toset([for i in range(var.devices) : format("bench-gw-%04d", i)])
  routes = {
    "sensor-to-filter"   = "FROM /messages/modules/sensor/outputs/temperature INTO BrokeredEndpoint(\"/modules/filter/inputs/input1\")"
    "filter-to-upstream" = "FROM /messages/modules/filter/outputs/alerts INTO $upstream"
  }
}

resource "edgeplane_device" "gw" {
  for_each  = local.ids
  device_id = each.key
  tags      = { fleet = "bench" }
}

resource "edgeplane_module" "m" {
  for_each = {
    for p in setproduct(keys(edgeplane_device.gw), ["sensor", "filter", "forwarder"]) :
    "${p[0]}/${p[1]}" => { device_id = edgeplane_device.gw[p[0]].device_id, name = p[1] }
  }
  device_id      = each.value.device_id
  name           = each.value.name
  image          = "registry.local:5000/${each.value.name}:1.0"
  create_options = jsonencode({ memory_bytes = 33554432 })
}

resource "edgeplane_module_twin" "t" {
  for_each  = edgeplane_module.m
  device_id = each.value.device_id
  module    = each.value.name
  desired   = jsonencode({ interval_ms = 1000 })
}

resource "edgeplane_route" "r" {
  for_each = {
    for p in setproduct(keys(edgeplane_device.gw), keys(local.routes)) :
    "${p[0]}/${p[1]}" => { device_id = edgeplane_device.gw[p[0]].device_id, name = p[1] }
  }
  device_id = each.value.device_id
  name      = each.value.name
  route     = local.routes[each.value.name]
}
