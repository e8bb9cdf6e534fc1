// Package e2e holds end-to-end tests that run the built tms binary together
// with the real programs it works with: a TMS server and OpenSSH's sshd and
// ssh on the loopback interface. The tests need root and the Debian
// packages openssh-server and openssh-client, and skip with a message
// without them.
package e2e
