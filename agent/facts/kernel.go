package facts

import (
	"regexp"
	"strings"
	"syscall"
)

// uname is what the uname system call tells.
type uname struct {
	sysname, nodename, release, machine string
}

func readUname() uname {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return uname{}
	}
	return uname{
		sysname:  utsString(u.Sysname[:]),
		nodename: utsString(u.Nodename[:]),
		release:  utsString(u.Release[:]),
		machine:  utsString(u.Machine[:]),
	}
}

// utsString converts a NUL-terminated utsname field (int8 or uint8 elements,
// depending on the architecture) to a string.
func utsString[T int8 | uint8](field []T) string {
	var b strings.Builder
	for _, c := range field {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

var digits = regexp.MustCompile(`\d+`)

// kernelVersion is the first three numbers of the kernel release, as Facter's
// kernelversion ("6.1.0-18-amd64" gives "6.1.0").
func kernelVersion(release string) string {
	nums := digits.FindAllString(release, 3)
	return strings.Join(nums, ".")
}

// kernelMajVersion is the first two numbers of the kernel release ("6.1").
func kernelMajVersion(release string) string {
	nums := digits.FindAllString(release, 2)
	return strings.Join(nums, ".")
}
