/* Golden for the AML emitter's data objects and names (test_acpi.c). */
DefinitionBlock ("", "SSDT", 2, "POLYBT", "NAMES", 1)
{
    Scope (\_SB)
    {
        Device (DEV0)
        {
            Name (_HID, EisaId ("PNP0A08"))
            Name (_CID, EisaId ("PNP0501"))
            Name (_UID, Zero)
            Name (ONE1, One)
            Name (BYT1, 0x2A)
            Name (WRD1, 0x1234)
            Name (DWD1, 0x12345678)
            Name (QWD1, 0x123456789A)
            Name (STR1, "polyboot")
            Name (PKG1, Package (0x03) { Zero, 0x10, "x" })
        }
    }
}
