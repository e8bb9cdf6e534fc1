// Package deploy holds the files that deploy TMS, which its tests check: the
// systemd unit tms.service (with systemd-analyze), and the Containerfile
// with the script that builds the image (with podman).
package deploy
