/* polyvmm-vars: inspect and edit an OVMF VARS file from the command line. */
#ifndef POLYBOOT_VMM_EFI_VARSTOOL_H
#define POLYBOOT_VMM_EFI_VARSTOOL_H

/* argv[0] is the command name ("polyvmm-vars"). Returns the exit status. */
int varstool_main(int argc, char **argv);

#endif
