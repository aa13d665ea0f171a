// Command package builds BorderWatch's installable packages: for each architecture named, a .deb
// and an .rpm holding the static binary that `make package` cross-built into
// dist/linux_<arch>/borderwatch, the systemd unit and environment file of deploy/systemd, and
// the install scripts beside this file. Run it from the repository's root:
//
//	go run ./deploy/package -version 1.2.0 amd64 arm64 loong64
//
// It writes dist/borderwatch_<version>_<arch>.deb and .rpm. With SOURCE_DATE_EPOCH set (make
// package sets the commit's time), every file in them carries that time, so that one commit
// packages to the same bytes.
package main

import (
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the packager "deb"
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the packager "rpm"
)

// arches are the architectures BorderWatch is packaged for, by their Go and Debian name, with
// RPM's name and the ELF machine of their binaries.
var arches = map[string]struct {
	rpm     string
	machine elf.Machine
}{
	"amd64":   {"x86_64", elf.EM_X86_64},
	"arm64":   {"aarch64", elf.EM_AARCH64},
	"loong64": {"loongarch64", elf.EM_LOONGARCH},
}

// formats are the package formats built for each architecture.
var formats = []string{"deb", "rpm"}

// validVersion is a version dpkg and rpm both accept that is also safe in a file name.
var validVersion = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~-]*$`)

func main() {
	version := flag.String("version", "", "package version, e.g. 1.2.0 or 1.2.0+git20260102030405.975e7c7abcde")
	dist := flag.String("dist", "dist", "directory that holds linux_<arch>/borderwatch and receives the packages")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: go run ./deploy/package -version VERSION [-dist DIR] ARCH...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *version == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, arch := range flag.Args() {
		for _, format := range formats {
			path, err := build(".", *dist, *version, arch, format)
			if err != nil {
				fmt.Fprintln(os.Stderr, "package:", err)
				os.Exit(1)
			}
			fmt.Println(path)
		}
	}
}

// build writes dist/borderwatch_<version>_<arch>.<format> from dist/linux_<arch>/borderwatch and
// the files under the repository root, and returns its path.
func build(root, dist, version, arch, format string) (string, error) {
	a, ok := arches[arch]
	if !ok {
		return "", fmt.Errorf("architecture %q: want one of amd64, arm64, loong64", arch)
	}
	if !validVersion.MatchString(version) {
		return "", fmt.Errorf("version %q: want a digit, then digits, letters and . + ~ -", version)
	}
	if !slices.Contains(formats, format) {
		return "", fmt.Errorf("format %q: want deb or rpm", format)
	}
	binary := filepath.Join(dist, "linux_"+arch, "borderwatch")
	if err := checkBinary(binary, a.machine); err != nil {
		return "", err
	}
	packager, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	info := nfpm.WithDefaults(packageInfo(root, binary, version, arch, a.rpm))
	if err := nfpm.Validate(info); err != nil {
		return "", err
	}
	path := filepath.Join(dist, fmt.Sprintf("borderwatch_%s_%s.%s", version, arch, format))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return path, f.Close()
}

// checkBinary makes sure the binary is a static Linux executable for the machine: a binary of
// another architecture, or one that needs a C library the server may not have, is never packaged.
func checkBinary(path string, machine elf.Machine) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		return fmt.Errorf("binary %s is for %v, not %v", path, f.Machine, machine)
	}
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("binary %s is an ELF %v, not a static executable (build it with CGO_ENABLED=0)", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("binary " + path + " is dynamically linked (build it with CGO_ENABLED=0)")
		}
	}
	return nil
}

// packageInfo describes the package of one architecture; nfpm turns it into a .deb or an .rpm.
func packageInfo(root, binary, version, arch, rpmArch string) *nfpm.Info {
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode}}
	}
	deploy := func(name string) string { return filepath.Join(root, "deploy", name) }
	return &nfpm.Info{
		Name:        "borderwatch",
		Arch:        arch,
		Platform:    "linux",
		Version:     version,
		Section:     "net",
		Priority:    "optional",
		Maintainer:  "BorderWatch",
		Vendor:      "BorderWatch",
		Description: "Vehicle tracking and alerts for land border ports\nBorderWatch takes positions from JT/T 808, GT06 and OsmAnd devices, checks them against the port's zones and declarations, raises alerts, and shows it all on a live map. One static binary with its web app, base map and default district; a hardened systemd unit; every setting in /etc/borderwatch/borderwatch.env.",
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				// Directories listed so that rpm owns them too, and removes them when empty.
				{Destination: "/etc/borderwatch", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				{Destination: "/usr/share/doc/borderwatch", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
				file(binary, "/usr/bin/borderwatch", 0o755),
				file(deploy("systemd/borderwatch.service"), "/usr/lib/systemd/system/borderwatch.service", 0o644),
				// Readable by root only: it can hold the database password. systemd reads it
				// as root before it starts the server.
				{Source: deploy("systemd/borderwatch.env"), Destination: "/etc/borderwatch/borderwatch.env",
					Type: files.TypeConfigNoReplace, FileInfo: &files.ContentFileInfo{Mode: 0o600}},
				file(filepath.Join(root, "README.md"), "/usr/share/doc/borderwatch/README.md", 0o644),
			},
			Scripts: nfpm.Scripts{
				PostInstall: deploy("package/postinstall.sh"),
				PreRemove:   deploy("package/preremove.sh"),
				PostRemove:  deploy("package/postremove.sh"),
			},
			Deb: nfpm.Deb{Arch: arch},
			RPM: nfpm.RPM{
				Arch:    rpmArch,
				Summary: "Vehicle tracking and alerts for land border ports",
				Group:   "Applications/Internet",
				// The name reproducible builds use, instead of the building machine's.
				BuildHost: "reproducible",
			},
		},
	}
}
