// Package migrate turns an Azure IoT Edge V1 gateway configuration (the JSON
// file that Gateway_CreateFromJson read: loaders, modules with their loader
// entrypoint and args, and links) into Terraform configuration for Edgeplane,
// written against the resource schema in docs/design/provider-schema.md.
//
// It does the mechanical part of a migration and reports the rest:
//
//   - ParseV1 reads and checks a V1 file. Every problem it finds (invalid
//     JSON, duplicate module names, unknown loaders, links to undefined
//     modules) is an *InputError that matches one of the Err* sentinels, so
//     that nothing is generated from a file V1 itself would have refused.
//   - Convert plans the Edgeplane objects: one device, one module per V1
//     module that has a container equivalent, a twin per module with args,
//     a route per link, and the V1 IoT Hub module as $upstream. Modules with
//     no Edgeplane equivalent (identity mapping, Bluetooth LE) are left out
//     and reported with what to do instead; links that touch them are
//     reported, never guessed.
//   - ParseImageMap reads the user's map of module (or entrypoint) to
//     container image.
//   - Plan.Files renders main.tf and variables.tf with hclwrite (so they
//     are `terraform fmt` clean) and MIGRATION.md, the list of what is
//     left; Plan.Summary prints the table of what became of each V1 item.
//   - WriteDir puts the files in place all at once, or not at all.
//
// It does not build container images, invent image names, contact a hub or
// an IoT Hub, or run Terraform. An image it is not told about becomes a
// required Terraform variable so that `terraform plan` stops and asks.
//
// V1 modules have no named inputs or outputs. By the convention documented in
// docs/migrate.md, a route takes every output of its source module
// (/messages/modules/<source>/*) and delivers to the sink's input "input1"
// (see SinkInput).
package migrate
