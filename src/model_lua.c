/*
 * model_lua.c: core.model(), the Lua view of the operation model.
 *
 * Each call builds a fresh table, so nothing a caller does to it reaches
 * the model the library runs on:
 *
 *   { service = { api_version, service_id, target_prefix, signing_name,
 *                 endpoint_prefix, json_version, content_type },
 *     operations = { { name, method, target, input, output, errors,
 *                      paginator = { input_token, output_token,
 *                                    limit_key, result_key } }, ... },
 *     shapes = { [name] = { name, type, min, max, pattern, check, enum,
 *                           member, key, value, hint,
 *                           members = { { lua, wire, shape, required } } } } }
 *
 * Shapes refer to each other by name.
 */
#include "compat.h"
#include "core.h"
#include "model.h"

static const char *const TYPE_NAMES[] = {
    "string", "integer", "long", "double", "boolean", "timestamp", "blob", "list", "map",
    "structure",
};
static const char *const CHECK_NAMES[] = {NULL, "arn", "principal", "digits", "policy"};

static void set_string(lua_State *L, const char *k, const char *v)
{
    if (v == NULL)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void push_strings(lua_State *L, const char *const *list)
{
    lua_newtable(L);
    for (int i = 0; list != NULL && list[i] != NULL; i++) {
        lua_pushstring(L, list[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static void push_members(lua_State *L, const acmpca_shape *sh)
{
    lua_createtable(L, sh->nmembers, 0);
    for (int m = 0; m < sh->nmembers; m++) {
        lua_createtable(L, 0, 4);
        set_string(L, "lua", sh->members[m].lua);
        set_string(L, "wire", sh->members[m].wire);
        set_string(L, "shape", sh->members[m].shape->name);
        lua_pushboolean(L, sh->members[m].required);
        lua_setfield(L, -2, "required");
        lua_rawseti(L, -2, m + 1);
    }
    lua_setfield(L, -2, "members");
}

/* shapes[sh.name] = { ... } and the shapes it refers to (table at index t). */
static void add_shape(lua_State *L, int t, const acmpca_shape *sh)
{
    if (sh == NULL || compat_getfield(L, t, sh->name) != LUA_TNIL) {
        if (sh != NULL)
            lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_newtable(L);
    set_string(L, "name", sh->name);
    set_string(L, "type", TYPE_NAMES[sh->type]);
    if (sh->has_min) {
        lua_pushnumber(L, (lua_Number)sh->min);
        lua_setfield(L, -2, "min");
    }
    if (sh->has_max) {
        lua_pushnumber(L, (lua_Number)sh->max);
        lua_setfield(L, -2, "max");
    }
    set_string(L, "pattern", sh->pattern);
    set_string(L, "check", CHECK_NAMES[sh->check]);
    set_string(L, "hint", sh->hint);
    if (sh->enums != NULL) {
        push_strings(L, sh->enums);
        lua_setfield(L, -2, "enum");
    }
    set_string(L, sh->type == ACMPCA_T_MAP ? "value" : "member", sh->item ? sh->item->name : NULL);
    set_string(L, "key", sh->key ? sh->key->name : NULL);
    if (sh->type == ACMPCA_T_STRUCTURE)
        push_members(L, sh);
    lua_setfield(L, t, sh->name);
    add_shape(L, t, sh->item);
    add_shape(L, t, sh->key);
    for (int m = 0; m < sh->nmembers; m++)
        add_shape(L, t, sh->members[m].shape);
}

static void push_operation(lua_State *L, const acmpca_operation *op)
{
    lua_createtable(L, 0, 7);
    set_string(L, "name", op->name);
    set_string(L, "method", op->method);
    set_string(L, "target", op->target);
    set_string(L, "input", op->input ? op->input->name : NULL);
    set_string(L, "output", op->output ? op->output->name : NULL);
    push_strings(L, op->errors);
    lua_setfield(L, -2, "errors");
    if (op->paginator != NULL) {
        lua_createtable(L, 0, 4);
        set_string(L, "input_token", op->paginator->input_token);
        set_string(L, "output_token", op->paginator->output_token);
        set_string(L, "limit_key", op->paginator->limit_key);
        set_string(L, "result_key", op->paginator->result_key);
        lua_setfield(L, -2, "paginator");
    }
}

static void push_service(lua_State *L)
{
    const acmpca_service *s = &acmpca_service_info;
    lua_createtable(L, 0, 7);
    set_string(L, "api_version", s->api_version);
    set_string(L, "service_id", s->service_id);
    set_string(L, "target_prefix", s->target_prefix);
    set_string(L, "signing_name", s->signing_name);
    set_string(L, "endpoint_prefix", s->endpoint_prefix);
    set_string(L, "json_version", s->json_version);
    lua_pushfstring(L, "application/x-amz-json-%s", s->json_version);
    lua_setfield(L, -2, "content_type");
}

/* core.model() -> a fresh description of the operations and their shapes */
static int l_model(lua_State *L)
{
    lua_createtable(L, 0, 3);
    push_service(L);
    lua_setfield(L, -2, "service");
    lua_newtable(L); /* model, shapes */
    int shapes = lua_gettop(L);
    lua_createtable(L, (int)acmpca_noperations, 0); /* model, shapes, ops */
    for (size_t i = 0; i < acmpca_noperations; i++) {
        push_operation(L, &acmpca_operations[i]);
        lua_rawseti(L, -2, (int)i + 1);
        add_shape(L, shapes, acmpca_operations[i].input);
        add_shape(L, shapes, acmpca_operations[i].output);
    }
    lua_setfield(L, -3, "operations");
    lua_setfield(L, -2, "shapes");
    return 1;
}

void acmpca_model_open(lua_State *L)
{
    lua_pushcfunction(L, l_model);
    lua_setfield(L, -2, "model");
}
