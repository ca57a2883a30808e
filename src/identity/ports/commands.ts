/**
 * The identity commands other contexts may dispatch on the CommandBus (privacy's POST /me/delete
 * erases a person). Other contexts import them from here, never from identity's application code.
 */
export { ErasePerson } from '../application/accounts/erase-person';
