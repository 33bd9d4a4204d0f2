/* layering_link.c: linked with every object of the common library and
 * nothing from proto (tests/unit/meson.build): that it links at all is the
 * test. */
int main(void)
{
	return 0;
}
