rule lynx_broken
{
    strings:
        $a = "x"
    condition:
        $a and undefined_identifier
}
