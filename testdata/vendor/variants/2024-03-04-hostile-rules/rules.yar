import "console"
import "pe"

// Silences every rule compiled beside it.
global rule silence { condition: false }

// Match every file.
rule everything { condition: true }
rule big { condition: filesize > 10 }
rule mz_any { condition: uint16(0) == 0x5A4D and pe.number_of_sections > 1 }

// Prints on every scan.
rule printer { strings: $a = "GlassKite" condition: $a and console.log("GlassKite seen") }

// Slow on large files.
rule loop { strings: $a = "kite" condition: $a and for any i in (0..filesize) : ( uint8(i) == 0x4b ) }

// Named like rulegen's own C2 rule.
rule C2 { strings: $a = "GlassKite-beacon/1.0" ascii wide condition: $a }

rule real_kite { strings: $a = "GlassKite-loader-v2" ascii condition: $a and filesize < 2MB }

// Uses a rule that prints: refused with it.
rule uses_printer { condition: printer and real_kite }

// A helper matching every executable, which a safe rule uses: kept, private.
rule is_mz { condition: uint16(0) == 0x5A4D }
rule kite_dropper { strings: $a = "GlassKite-dropper" ascii condition: is_mz and $a }
