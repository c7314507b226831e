rule lynx_broken
{
    strings:
        $a = "x"
    condition:
        $a and undefined_identifier
}

rule lynx_loader_marker
{
    strings:
        $a = "LynxLoaderMarker/2.0" ascii wide
    condition:
        $a
}
