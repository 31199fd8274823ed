/* Golden for the AML emitter's resource descriptors (test_acpi.c). */
DefinitionBlock ("", "SSDT", 2, "POLYBT", "RES", 1)
{
    Name (RES1, ResourceTemplate ()
    {
        WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
            0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,,,)
        WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
            0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300,,,, TypeStatic, DenseTranslation)
        IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08,)
        IRQNoFlags () {4}
        DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
            0x00000000, 0xC0000000, 0xFBFFFFFF, 0x00000000, 0x3C000000,,, , AddressRangeMemory, TypeStatic)
        DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,
            0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000,,, , AddressRangeMemory, TypeStatic)
        QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
            0x0000000000000000, 0x0000000800000000, 0x0000000FFFFFFFFF, 0x0000000000000000,
            0x0000000800000000,,, , AddressRangeMemory, TypeStatic)
    })
}
