// Package archtest holds tests of the code's structure: imports flow one
// way (HTTP → rules → storage), and leaf packages stay leaves.
package archtest
