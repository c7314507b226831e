// Package compat holds, in its tests, rulegen's output to the engines and tools that consume
// it: libyara and YARA-X compiling and scanning the same rules alike, yara-python, sigma-cli
// and pySigma's backends accepting and converting the Sigma, the YARA layouts at scale, and
// the scan-cost benchmark. It has no code of its own: what it tests is generate's output.
package compat
