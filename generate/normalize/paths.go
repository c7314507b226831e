package normalize

import (
	"regexp"
	"strings"
)

var (
	// The head of a Windows path that differs between machines: an environment variable, a
	// drive, or a user's profile directory.
	envVarHead  = regexp.MustCompile(`^%[A-Za-z0-9_()]+%`)
	userHead    = regexp.MustCompile(`(?i)^[a-z]:\\(?:users|documents and settings)\\[^\\]+`)
	driveHead   = regexp.MustCompile(`(?i)^(?:[a-z]:|\\\\\?\\[a-z]:)`)
	userSIDHead = regexp.MustCompile(`(?i)^S-1-5-21-\d+-\d+-\d+-\d+(?:_Classes)?\\`)
)

// hiveNames maps the spellings of registry roots to the short form Sysmon writes.
var hiveNames = map[string]string{
	"HKEY_LOCAL_MACHINE": "HKLM", "HKLM": "HKLM",
	"HKEY_CURRENT_USER": "HKCU", "HKCU": "HKCU",
	"HKEY_USERS": "HKU", "HKU": "HKU",
	"HKEY_CLASSES_ROOT": "HKCR", "HKCR": "HKCR",
	"HKEY_CURRENT_CONFIG": "HKCC", "HKCC": "HKCC",
}

// Value names that many programs use, too common to detect on their own.
var genericValueNames = map[string]bool{
	"": true, "(default)": true, "default": true, "update": true, "updater": true, "windows": true,
	"run": true, "start": true, "startup": true, "shell": true, "userinit": true, "load": true,
	"service": true, "system": true, "security": true, "svchost": true, "explorer": true,
}

// autostartKeys are keys whose values are the autostart entries; a report that ends a
// registry path with one names the key, and the value name is unknown.
var autostartKeys = map[string]bool{"run": true, "runonce": true, "runonceex": true, "runservices": true, "runservicesonce": true}

// sharedKeys are the first components under \Software that belong to Windows or to every
// program, not to one vendor.
var sharedKeys = map[string]bool{"microsoft": true, "classes": true, "policies": true, "wow6432node": true, "clients": true}

// ownKey says whether a key tail is a vendor's own key below \Software (\Software\EpicNet
// Inc.\CloudNet), which the malware's author chose, so that any value set under it is telling.
func ownKey(tail string) bool {
	parts := strings.Split(strings.Trim(tail, `\`), `\`)
	return len(parts) >= 2 && strings.EqualFold(parts[0], "software") && !sharedKeys[strings.ToLower(parts[1])] && len(parts[1]) >= 3
}

// pathTail drops the machine-specific head of a Windows path and keeps the rest with a leading
// backslash; "" when v is not a path with at least a directory or a file name after the head.
func pathTail(v string) string {
	v = strings.TrimSpace(strings.Trim(v, `"`))
	head := envVarHead.FindString(v)
	if head == "" {
		head = userHead.FindString(v)
	}
	if head == "" {
		head = driveHead.FindString(v)
	}
	rest := v[len(head):]
	if head == "" || !strings.HasPrefix(rest, `\`) || len(rest) < 2 {
		return ""
	}
	return rest
}

// splitRegistryKey splits a full key into hive and the path below it.
func splitRegistryKey(key string) (hive, path string, ok bool) {
	key = strings.Trim(strings.TrimSpace(key), `\`)
	root, rest, _ := strings.Cut(key, `\`)
	hive, ok = hiveNames[strings.ToUpper(root)]
	if !ok || rest == "" {
		return "", "", false
	}
	return hive, rest, true
}

// keyTail drops the per-user SID that follows HKU so the key matches on any machine.
func keyTail(path string) string {
	return `\` + userSIDHead.ReplaceAllString(path, "")
}
