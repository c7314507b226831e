rule lynx_implant_strings
{
    meta:
        author = "Example Research"
        date = "2024-06-05"
    strings:
        $a = "LynxImplant/1.0" ascii wide
        $b = "lynx_beacon_interval" ascii
    condition:
        all of them
}
